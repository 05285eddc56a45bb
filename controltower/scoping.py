"""Who may see which locations: the one place scoping is decided.

Store managers see their locations, regional ops their region, every other
role the whole estate; a source system's client (controltower.tokens) sees
no people's data unless a model says so.

Every scoped model's manager is a `ScopedQuerySet` (as NetBox's
RestrictedQuerySet): `Case.objects.restrict(user)`, or
`.filter(...).restrict(user)`, keeps the rows `user` may see. Every list,
detail, count, export and API endpoint reads through it, so an object out of
scope is not found, on the screens and in the API alike. A model says where
its location is with `scope_fields`, paths to a location:

    scope_fields = ("location",)                     a row at one location
    scope_fields = ("case__location",)               through a relation
    scope_fields = ("from_location", "to_location")  visible when either end is
    scope_fields = ("",)                             the Location model itself

A model without a trusted location subclasses ScopedQuerySet and says who
sees it (`restrict_person`, `restrict_source`).
"""
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import models
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


def _location_lookups(user):
    """The lookups, relative to a location, that keep the locations `user`
    sees: {} for the whole estate, None for none."""
    role = role_of(user)
    if role in ESTATE_ROLES:
        return {}
    if role == Role.STORE_MANAGER:
        return {"managers": user.profile}
    if role == Role.REGIONAL_OPS and user.profile.region_id:
        return {"region_id": user.profile.region_id}
    return None


def _path(field, lookup):
    return f"{field}__{lookup}" if field else lookup


class ScopedQuerySet(models.QuerySet):
    """A queryset that narrows itself to what a user may see: `.restrict(user)`."""

    def restrict(self, user):
        """The rows of this queryset `user` (a person, or a source system's
        client) may see."""
        from .tokens import SourceClient  # tokens imports DRF: not while the models load

        if isinstance(user, SourceClient):
            return self.restrict_source(user.source)
        return self.restrict_person(user)

    def restrict_source(self, source):
        """What a source system's token reads of this model: nothing, unless the model says."""
        return self.none()

    def restrict_person(self, user):
        fields = getattr(self.model, "scope_fields", None)
        if not fields:
            raise ImproperlyConfigured(f"{self.model.__name__} has a ScopedQuerySet but no scope_fields.")
        lookups = _location_lookups(user)
        if lookups is None:
            return self.none()
        if not lookups:
            return self
        if len(fields) == 1:  # one join, as the queue's indexes expect
            return self.filter(**{_path(fields[0], name): value for name, value in lookups.items()})
        # Either end: a subquery per end, so a row seen through both is not repeated.
        seen = apps.get_model("inventory", "Location").objects.filter(**lookups)
        either = Q()
        for field in fields:
            either |= Q(**{f"{field}__in": seen})
        return self.filter(either)


def visible_locations(user):
    """The locations this user may see, as a queryset."""
    # The kernel imports no domain module: the model by name.
    return apps.get_model("inventory", "Location").objects.restrict(user)


def people_seeing(locations):
    """The other way round: a filter on users for the people who see at least
    one of `locations` (a queryset or list of locations)."""
    who = Q(profile__role__in=ESTATE_ROLES)
    who |= Q(profile__role=Role.STORE_MANAGER, profile__locations__in=locations)
    who |= Q(profile__role=Role.REGIONAL_OPS, profile__region__locations__in=locations)
    return who


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


__all__ = ["ESTATE_ROLES", "ScopedQuerySet", "people_seeing", "role_of", "scope_label", "visible_locations"]
