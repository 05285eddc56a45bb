"""Who may see which locations: the one place scoping is decided.

Every list, detail, count, export and API endpoint narrows its queryset with
`restrict(queryset, user, location_field)`.
"""
from django.apps import apps
from django.db.models import Q

from .models import Role

ESTATE_ROLES = {
    Role.PLANNER, Role.FINANCE, Role.INTEGRATION_ADMIN, Role.PMO, Role.EXECUTIVE, Role.ADMIN,
}


def role_of(user):
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.ADMIN
    profile = getattr(user, "profile", None)
    return profile.role if profile else None


def visible_locations(user):
    """The locations this user may see, as a queryset."""
    Location = apps.get_model("inventory", "Location")  # the kernel imports no domain module
    role = role_of(user)
    if role in ESTATE_ROLES:
        return Location.objects.all()
    if role == Role.STORE_MANAGER:
        return Location.objects.filter(managers=user.profile)
    if role == Role.REGIONAL_OPS and user.profile.region_id:
        return Location.objects.filter(region_id=user.profile.region_id)
    return Location.objects.none()


def restrict(queryset, user, location_field="location"):
    """Narrow `queryset` to rows whose `location_field` the user may see."""
    role = role_of(user)
    if role in ESTATE_ROLES:
        return queryset
    if role == Role.STORE_MANAGER:
        return queryset.filter(**{f"{location_field}__managers": user.profile})
    if role == Role.REGIONAL_OPS and user.profile.region_id:
        return queryset.filter(**{f"{location_field}__region_id": user.profile.region_id})
    return queryset.none()


def people_seeing(locations):
    """The other way round: a filter on users for the people who see at least
    one of `locations` (a queryset or list of locations)."""
    who = Q(profile__role__in=ESTATE_ROLES)
    who |= Q(profile__role=Role.STORE_MANAGER, profile__locations__in=locations)
    who |= Q(profile__role=Role.REGIONAL_OPS, profile__region__locations__in=locations)
    return who


def can_see_location(user, location):
    return visible_locations(user).filter(pk=location.pk).exists()


def scope_label(user):
    """Plain words for the header: what this user is looking at."""
    role = role_of(user)
    if role in ESTATE_ROLES:
        return "All locations"
    if role == Role.STORE_MANAGER:
        codes = list(user.profile.locations.values_list("code", flat=True)[:4])
        return ", ".join(codes) or "No stores assigned"
    if role == Role.REGIONAL_OPS and user.profile.region_id:
        return f"Region {user.profile.region.code}"
    return "Nothing in scope"


__all__ = ["restrict", "visible_locations", "can_see_location", "scope_label", "role_of"]
