"""The screens and who may see each: one declaration read by the menu, the
views' guard and the landing, and the scope in the header.

Each app registers the screens it owns from its AppConfig.ready() (as
NetBox's menu registry does): a url name, a label, the roles that may see
it. The menu lists exactly a role's screens, `@screen(name)` guards the
screen's views with the same roles (403 in words for any other), and
`landing_for` sends a role to the screen that is its main one. The kernel
knows no app's screens: each app's apps.py lists its own. A link is shown
only once its url name resolves, so a screen registered before its url lands
shows no dead link.
"""
from dataclasses import dataclass, field
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

from .answers import refused
from .models import Role
from .scoping import role_of, scope_label

EVERY_ROLE = frozenset(Role)
# Every role and a person without one (Home): no refusal.
EVERYONE = EVERY_ROLE | {None}


@dataclass(frozen=True)
class Entry:
    url_name: str
    label: str
    roles: frozenset
    order: int
    # A role's own word for the screen ("My cases" for a store manager).
    labels: dict = field(default_factory=dict)
    # Roles whose main screen this is (DOMAIN.md): listed first for them.
    main_for: frozenset = frozenset()

    def label_for(self, role):
        return self.labels.get(role, self.label)

    def sort_key(self, role):
        return (0 if role in self.main_for else 1, self.order, self.label)

    def allows(self, role):
        return role in self.roles

    @property
    def refusal(self):
        """Who the screen is for, in words (the 403 says it)."""
        names = [Role(role).label.lower() for role in Role if role in self.roles]
        listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
        return f"{self.label} is for: {listed}."


_entries: dict[str, Entry] = {}


def register(url_name, label, *, roles, order, labels=None, main_for=()):
    """Add a screen to the navigation of `roles` (called from AppConfig.ready)."""
    _entries[url_name] = Entry(
        url_name=url_name, label=label, roles=frozenset(roles), order=order,
        labels=dict(labels or {}), main_for=frozenset(main_for),
    )


def entries_for(role):
    """The registered screens of `role`, in the order its header shows them."""
    return sorted((e for e in _entries.values() if e.allows(role)), key=lambda e: e.sort_key(role))


def allows(url_name, user):
    """Whether `user` may see the registered screen `url_name`."""
    return _entries[url_name].allows(role_of(user))


def refusal(url_name):
    """Who the screen `url_name` is for, in words."""
    return _entries[url_name].refusal


def screen(url_name):
    """Guard a view of the screen `url_name` with the roles it was registered
    for: signed in, then a listed role, else 403 saying who the screen is for.
    A view that must say "not found" for what is out of scope before it
    refuses a role asks `allows` itself, after its lookups."""
    def decorate(view):
        @login_required
        @wraps(view)
        def guarded(request, *args, **kwargs):
            entry = _entries[url_name]
            if not entry.allows(role_of(request.user)):
                return refused(request, entry.refusal)
            return view(request, *args, **kwargs)
        return guarded
    return decorate


def landing_for(role):
    """The url name of `role`'s main screen (where signing in lands), None for home."""
    return next((e.url_name for e in entries_for(role) if role in e.main_for), None)


def _is_active(url, path):
    if url == "/":
        return path == "/"
    return path.startswith(url)


def register_badges(provider):
    """Add a source of the menu's counts: provider(request) -> {url name: count}
    (the web app's "my work", called once per page that shows the menu)."""
    if provider not in _badge_providers:
        _badge_providers.append(provider)


_badge_providers = []


def nav_items(request):
    """The links the person may follow, as dicts of label, url, active, and
    the count of their work waiting there (0: none)."""
    user, path = request.user, request.path
    role = role_of(user)
    entries = [(e.label_for(role), e.url_name) for e in entries_for(role)]
    # The Django admin only lets staff in; do not offer it to anyone else.
    if role == Role.ADMIN and user.is_staff:
        entries.append(("Admin", "admin:index"))
    badges = {}
    for provider in _badge_providers:
        for url_name, count in provider(request).items():
            badges[url_name] = badges.get(url_name, 0) + count
    items = []
    for label, url_name in entries:
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": _is_active(url, path),
                      "count": badges.get(url_name, 0)})
    return items


# Actions offered in every page's header to every signed-in person (an app's "Report an issue"):
# (url name, label), shown once the url name resolves.
_header_actions: list[tuple[str, str]] = []


def register_header_action(url_name, label):
    """Offer `url_name` in every page's header (called from an app's AppConfig.ready())."""
    _header_actions.append((url_name, label))


def header_actions():
    actions = []
    for url_name, label in _header_actions:
        try:
            actions.append({"label": label, "url": reverse(url_name)})
        except NoReverseMatch:
            continue
    return actions


def navigation_for(request):
    """The header's context, read only when a page shows the header (an htmx
    fragment does not, and pays nothing)."""
    user = request.user
    role = role_of(user)
    return {
        "nav_items": SimpleLazyObject(lambda: nav_items(request)),
        "user_role": Role(role).label if role else "No role",
        "user_scope": SimpleLazyObject(lambda: scope_label(user)),
        "header_actions": SimpleLazyObject(header_actions),
    }
