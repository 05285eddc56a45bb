"""The navigation each role sees, and the scope shown in the header.

Each entry is (label, url name). A link is shown only once its url name
resolves, so the screens built later appear in the header by themselves when
their urls land, and no dead link is ever shown. The url names screens must use:

    cases               /cases/               exception queue (every role that works cases)
    stores              /stores/              store KPIs (store manager)
    region-board        /region/              region board (regional ops)
    variances           /variances/           variance and reconciliation (planner, finance)
    approvals           /approvals/           adjustment approvals (finance)
    integration-health  /integration/         feeds, rejections, replays (integration admin)
    rollout             /rollout/             wave x gate readiness board (PMO)
    hypercare           /hypercare/           hypercare dashboard (executive)
"""
from django.urls import NoReverseMatch, reverse

from .models import Role
from .scoping import role_of, scope_label

NAV_BY_ROLE = {
    Role.STORE_MANAGER: [("My cases", "cases"), ("My stores", "stores")],
    Role.REGIONAL_OPS: [("Region board", "region-board"), ("Cases", "cases")],
    # Cases routed to planning, finance and integration teams are worked here too.
    Role.PLANNER: [("Cases", "cases"), ("Variances", "variances")],
    Role.FINANCE: [("Cases", "cases"), ("Variances", "variances"), ("Approvals", "approvals")],
    Role.INTEGRATION_ADMIN: [("Cases", "cases"), ("Integration health", "integration-health")],
    Role.PMO: [("Rollout", "rollout")],
    Role.EXECUTIVE: [("Hypercare", "hypercare")],
    Role.ADMIN: [
        ("Cases", "cases"),
        ("Stores", "stores"),
        ("Region board", "region-board"),
        ("Variances", "variances"),
        ("Approvals", "approvals"),
        ("Integration health", "integration-health"),
        ("Rollout", "rollout"),
        ("Hypercare", "hypercare"),
    ],
}


def _is_active(url, path):
    if url == "/":
        return path == "/"
    return path.startswith(url)


def nav_items(user, path):
    """The links `user` may follow, as dicts of label, url and active."""
    role = role_of(user)
    entries = [("Home", "home")] + NAV_BY_ROLE.get(role, [])
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
