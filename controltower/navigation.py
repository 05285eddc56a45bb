"""The navigation each role sees, filled by the apps, and the scope in the header.

Each app registers the screens it owns from its AppConfig.ready() (as
NetBox's menu registry does): a url name, a label, the roles that see it.
The kernel knows no app's screens. A link is shown only once its url name
resolves, so a screen registered before its url lands shows no dead link.

The url names screens use:

    cases               /cases/               exception queue (every role that works cases)
    stores              /stores/              store KPIs (store manager)
    region-board        /region/              region board (regional ops)
    variances           /variances/           variance and reconciliation (planner, finance)
    approvals           /approvals/           adjustment approvals (finance)
    integration-health  /integration/         feeds, rejections, replays (integration admin)
    rollout             /rollout/             wave x gate readiness board (PMO, executive, sign-off leads)
    hypercare           /hypercare/           hypercare dashboard (executive)
"""
from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse

from .models import Role
from .scoping import role_of, scope_label

EVERY_ROLE = frozenset(Role)


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


_entries: dict[str, Entry] = {}


def register(url_name, label, *, roles, order, labels=None, main_for=()):
    """Add a screen to the navigation of `roles` (called from AppConfig.ready)."""
    _entries[url_name] = Entry(
        url_name=url_name, label=label, roles=frozenset(roles), order=order,
        labels=dict(labels or {}), main_for=frozenset(main_for),
    )


def entries_for(role):
    """The registered screens of `role`, in the order its header shows them."""
    # A person with no role still gets the screens registered for everyone (Home).
    shown = (e for e in _entries.values() if role in e.roles or e.roles == EVERY_ROLE)
    return sorted(shown, key=lambda e: e.sort_key(role))


def _is_active(url, path):
    if url == "/":
        return path == "/"
    return path.startswith(url)


def nav_items(user, path):
    """The links `user` may follow, as dicts of label, url and active."""
    role = role_of(user)
    entries = [(e.label_for(role), e.url_name) for e in entries_for(role)]
    # The Django admin only lets staff in; do not offer it to anyone else.
    if role == Role.ADMIN and user.is_staff:
        entries.append(("Admin", "admin:index"))
    items = []
    for label, url_name in entries:
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": _is_active(url, path)})
    return items


def navigation_for(user, path):
    role = role_of(user)
    return {
        "nav_items": nav_items(user, path),
        "user_role": Role(role).label if role else "No role",
        "user_scope": scope_label(user),
    }
