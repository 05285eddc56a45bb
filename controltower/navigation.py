"""The navigation each role sees, and the scope shown in the header."""
from .models import Role
from .scoping import role_of, scope_label


def navigation_for(user):
    role = role_of(user)
    items = [("Home", "home")]
    return {
        "nav_items": items,
        "user_role": role.label if role else "No role",
        "user_scope": scope_label(user),
        "is_admin": role == Role.ADMIN,
    }
