"""Admin for the rollout. Waves refuse a planned cutover inside a blackout
window (Wave.clean asks rollout.schedule). Evidence, sign-offs and go/no-go
decisions are records: read-only here, made through rollout.gates. Waivers
are approved with the action, which keeps the four-eyes rule. Criteria and
sign-off roles are changed on the wave page or the API (rollout.criteria:
history, four eyes): here they are read; a new program gets the default
playbook (rollout.playbook)."""
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from . import gates
from .playbook import apply_playbook
from .models import (
    BlackoutWindow,
    Criterion,
    Evaluation,
    Gate,
    GateChange,
    GateTemplate,
    GoNoGo,
    Program,
    SignOff,
    TrainingModule,
    TrainingRecord,
    Waiver,
    Wave,
    WaveLocation,
)


class WaveInline(admin.TabularInline):
    model = Wave
    extra = 0
    fields = ("order", "name", "kind", "planned_cutover", "actual_cutover", "status")
    show_change_link = True


class GateTemplateInline(admin.TabularInline):
    model = GateTemplate
    extra = 0
    show_change_link = True
    readonly_fields = ("required_roles", "sign_off_only")


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    inlines = [GateTemplateInline, WaveInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change:
            apply_playbook(form.instance)


class WaveLocationInline(admin.TabularInline):
    model = WaveLocation
    extra = 0
    fields = ("location",)
    autocomplete_fields = ("location",)


class GateInline(admin.TabularInline):
    model = Gate
    extra = 0
    can_delete = False
    readonly_fields = ("template", "status", "opened_at", "passed_at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Wave)
class WaveAdmin(admin.ModelAdmin):
    list_display = ("name", "program", "kind", "order", "planned_cutover", "actual_cutover", "status")
    list_filter = ("program", "kind", "status")
    inlines = [WaveLocationInline, GateInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        gates.ensure_gates(form.instance)


class CriterionInline(admin.TabularInline):
    model = Criterion
    extra = 0
    can_delete = False
    readonly_fields = ("metric", "comparator", "threshold", "scope", "window_hours", "steady_hours", "baseline",
                       "added_at", "retired_at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(GateTemplate)
class GateTemplateAdmin(admin.ModelAdmin):
    list_display = ("program", "order", "kind", "required_roles", "sign_off_only")
    list_filter = ("program",)
    readonly_fields = ("required_roles", "sign_off_only")
    inlines = [CriterionInline]


@admin.register(Gate)
class GateAdmin(admin.ModelAdmin):
    list_display = ("wave", "template", "status", "opened_at", "passed_at")
    list_filter = ("status", "template__kind", "wave__program")
    readonly_fields = ("wave", "template", "status", "opened_at", "passed_at")

    def has_add_permission(self, request):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Evaluation)
class EvaluationAdmin(ReadOnlyAdmin):
    list_display = ("gate", "criterion", "at", "value", "threshold", "sample", "passed", "waived")
    list_filter = ("passed", "waived", "gate__wave__program")
    date_hierarchy = "at"


@admin.register(GateChange)
class GateChangeAdmin(ReadOnlyAdmin):
    list_display = ("template", "action", "criterion", "status", "requested_by", "requested_at", "decided_by")
    list_filter = ("action", "status", "template__program")


@admin.register(SignOff)
class SignOffAdmin(ReadOnlyAdmin):
    list_display = ("gate", "role", "person", "at")
    list_filter = ("role",)


@admin.register(GoNoGo)
class GoNoGoAdmin(ReadOnlyAdmin):
    list_display = ("gate", "decision", "decided_by", "decided_at")


@admin.register(Waiver)
class WaiverAdmin(admin.ModelAdmin):
    list_display = ("gate", "criterion", "requested_by", "approved_by", "expires_at")
    readonly_fields = ("requested_by", "requested_at", "approved_by", "approved_at")
    actions = ["approve"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.requested_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Approve the selected waivers (not your own)")
    def approve(self, request, queryset):
        for waiver in queryset.select_related("gate"):
            try:
                gates.approve_waiver(waiver, user=request.user)
            except (ValidationError, PermissionDenied) as exc:
                text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                self.message_user(request, f"{waiver}: {text}", messages.ERROR)


@admin.register(BlackoutWindow)
class BlackoutWindowAdmin(admin.ModelAdmin):
    list_display = ("name", "program", "region", "starts_on", "ends_on")
    list_filter = ("program", "region")


@admin.register(TrainingModule)
class TrainingModuleAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "required")


@admin.register(TrainingRecord)
class TrainingRecordAdmin(admin.ModelAdmin):
    list_display = ("person_id", "person_name", "location", "module", "completed_at", "proficiency")
    list_filter = ("module",)
    search_fields = ("person_id", "person_name", "location__code")
    raw_id_fields = ("location",)
