"""Admin screens for people's profiles and API tokens.

Tokens are issued by `add_source` and `user_token`, which show the raw key
once; here they can only be looked at (by prefix, never the hash) and revoked.
"""
from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from django.contrib import admin, messages

from .models import ApiToken, Profile
from .tokens import revoke


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "region", "store_codes"]
    list_filter = ["role", "region"]
    search_fields = ["user__username", "user__email", "locations__code"]
    list_select_related = ["user", "region"]
    autocomplete_fields = ["user", "region", "locations"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("locations")

    @admin.display(description="Stores")
    def store_codes(self, obj):
        return ", ".join(location.code for location in obj.locations.all())


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "source", "user", "created_at", "last_used_at", "expires_at", "revoked"]
    list_filter = ["revoked", "source"]
    search_fields = ["prefix", "user__username", "source__code"]
    list_select_related = ["source", "user"]
    fields = ["prefix", "source", "user", "created_at", "last_used_at", "expires_at", "revoked"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke(self, request, queryset):
        tokens = list(queryset.filter(revoked=False))
        for token in tokens:  # one by one: each revocation is in the audit trail
            revoke(token)
        self.message_user(request, f"Revoked {len(tokens)} token(s).", messages.SUCCESS)

    def has_revoke_permission(self, request):
        return request.user.has_perm("controltower.change_apitoken")


# The audit trail, read-only to everyone (auditlog's own admin would let a superuser delete).
admin.site.unregister(LogEntry)


@admin.register(LogEntry)
class AuditEntryAdmin(LogEntryAdmin):
    def has_delete_permission(self, request, obj=None):
        return False
