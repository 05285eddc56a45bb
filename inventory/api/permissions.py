"""API permissions shared by the inventory endpoints."""
from rest_framework.permissions import BasePermission

from controltower.permissions import may_load_master_data
from controltower.tokens import SourceClient
from inventory.lanes import master_data_refusal


class MayLoadMasterData(BasePermission):
    """Locations, SKUs and PO lines: an ERP source, a source allowed to load
    master data, or an admin / integration admin (inventory.lanes)."""

    def has_permission(self, request, view):
        self.message = master_data_refusal(request.user)
        return not self.message


class MayMapIdentifiers(BasePermission):
    """A source's own ids of locations and SKUs: people who fix integrations
    (admins, integration admins), never a source's token."""

    message = "Only an admin or integration admin maps a source's own ids to the tower's codes."

    def has_permission(self, request, view):
        return not isinstance(request.user, SourceClient) and may_load_master_data(request.user)
