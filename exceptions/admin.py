from django.contrib import admin

from .models import (
    Case,
    CaseComment,
    CaseHistory,
    CaseLink,
    CorrectiveAdjustment,
    RoutingRule,
    SLAPolicy,
    Team,
)


class HistoryInline(admin.TabularInline):
    model = CaseHistory
    extra = 0
    can_delete = False
    readonly_fields = ("at", "actor", "action", "field", "from_value", "to_value", "note")

    def has_add_permission(self, request, obj=None):
        return False


class CommentInline(admin.TabularInline):
    model = CaseComment
    extra = 0
    readonly_fields = ("at", "author", "body")


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """Read-mostly: people change cases through the actions, which keep history."""

    list_display = ("id", "kind", "severity", "status", "location", "owner", "assignee",
                    "resolution_due_at", "breached_at", "escalation_level")
    list_filter = ("kind", "status", "severity", "escalation_level", "owner")
    search_fields = ("fingerprint", "summary", "location__code", "sku__code")
    raw_id_fields = ("location", "sku", "source", "assignee", "resolved_by")
    readonly_fields = [f.name for f in Case._meta.fields]
    inlines = [CommentInline, HistoryInline]


@admin.register(CorrectiveAdjustment)
class CorrectiveAdjustmentAdmin(admin.ModelAdmin):
    list_display = ("transaction_id", "case", "location", "sku", "state", "quantity", "value", "status")
    list_filter = ("status",)
    readonly_fields = [f.name for f in CorrectiveAdjustment._meta.fields]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "region", "email")


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("kind", "severity", "region", "team", "priority")


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    list_display = ("kind", "severity", "response_minutes", "resolution_minutes", "trading_hours_only")


admin.site.register(CaseLink)
