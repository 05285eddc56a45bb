"""The demo retailer's people and tokens: one demo login per role, each
scoped to its stores or region, and an API token for every demo source
that has none."""
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from controltower.models import ApiToken, Profile, Role

DEMO_PASSWORD = "demo-password"

USERS = [
    # username, role, stores, region, superuser
    ("admin", Role.ADMIN, (), None, True),
    ("manager.berlin", Role.STORE_MANAGER, ("DE001", "DE002"), None, False),
    ("manager.paris", Role.STORE_MANAGER, ("FR001", "FR002", "FR003"), None, False),
    ("ops.germany", Role.REGIONAL_OPS, (), "DE", False),
    ("planner", Role.PLANNER, (), None, False),
    ("finance", Role.FINANCE, (), None, False),
    ("integration", Role.INTEGRATION_ADMIN, (), None, False),
    ("pmo", Role.PMO, (), None, False),
    ("executive", Role.EXECUTIVE, (), None, False),
]


def upsert_users(regions, locations, report, users=USERS):
    """Demo users, one per role (`users` rows as USERS); returns
    [(username, role label, scope)]."""
    User = get_user_model()
    password = make_password(DEMO_PASSWORD)  # hashed once: hashing is slow on purpose
    logins = []
    for username, role, stores, region_code, superuser in users:
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@demo.invalid"}
        )
        report.count("users", created)
        user.is_superuser = user.is_staff = superuser
        user.password = password
        user.save()
        region = regions[region_code] if region_code else None
        profile, _ = Profile.objects.update_or_create(user=user, defaults={"role": role, "region": region})
        profile.locations.set([locations[code] for code in stores])
        scope = ", ".join(stores) or (f"region {region_code}" if region_code else "all locations")
        logins.append((username, role.label, scope))
    return logins


def issue_tokens(sources, report):
    """A new API token for each demo source without an active one (the raw
    keys go on the report, shown once); a source that has one keeps it."""
    for source in sources.values():
        if not ApiToken.objects.filter(source=source, revoked=False).exists():
            report.tokens[source.code] = ApiToken.issue(source=source)[1]
