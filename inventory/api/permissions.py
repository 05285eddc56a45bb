"""API permissions shared by the inventory endpoints."""
from rest_framework.permissions import BasePermission

from inventory.lanes import master_data_refusal


class MayLoadMasterData(BasePermission):
    """Locations, SKUs and PO lines: an ERP source, a source allowed to load
    master data, or an admin / integration admin (inventory.lanes)."""

    def has_permission(self, request, view):
        self.message = master_data_refusal(request.user)
        return not self.message
