"""What an app built on another adds to that app's screens.

A screen of a lower app may show what a higher app knows (the integration
screen the reconciliation runs; a journey its stuck-journey cases) without
importing it: the screen's view asks `context_for(screen, request, **about)`,
and each app that registered a provider for that screen (from its
AppConfig.ready(), as it registers its menu entries) adds its part of the
template's context. The arrows stay pointing down: the higher app knows the
screen's name, the screen knows no higher app."""

_providers: dict[str, list] = {}


def register(screen, provider):
    """Add `provider(request, **about) -> dict` to the context of `screen`
    (a url name, e.g. "integration-health")."""
    providers = _providers.setdefault(screen, [])
    if provider not in providers:
        providers.append(provider)


def context_for(screen, request, **about):
    """The context the registered providers add to `screen` for `request`."""
    context = {}
    for provider in _providers.get(screen, ()):
        context.update(provider(request, **about))
    return context
