"""Forms of the rollout screens. They only collect input: the rules (who may,
what is required, four eyes, open gates) are rollout.gates', whose
ValidationError is put back on the form (controltower.answers.add_service_errors)."""
from django import forms

from controltower import metrics
from controltower.models import Role

from .models import Criterion, GateChange, GoNoGo


class WaiverForm(forms.Form):
    criterion = forms.ModelChoiceField(queryset=None, empty_label="Choose a criterion")
    reason = forms.CharField(label="Why may it be waived?", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    expires_at = forms.DateTimeField(
        label="Waived until", required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Mandatory: after it the criterion counts as failing again.",
    )

    def __init__(self, *args, gate, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["criterion"].queryset = gate.template.criteria.all()
        self.fields["criterion"].label_from_instance = str


class CutoverForm(forms.Form):
    planned_cutover = forms.DateField(
        label="Planned cutover", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Not inside a blackout window of the program or of the wave's regions.",
    )


class SignOffForm(forms.Form):
    comment = forms.CharField(label="Comment", required=False, widget=forms.Textarea(attrs={"rows": 2}))


class GoNoGoForm(forms.Form):
    decision = forms.ChoiceField(label="Decision", choices=GoNoGo.Decision.choices, widget=forms.RadioSelect)
    comment = forms.CharField(label="Comment", required=False, widget=forms.Textarea(attrs={"rows": 2}))


# --------------------------------------------------------------------------
# A gate's criteria and sign-off roles (rollout.criteria decides; the reason
# is required there, so its error comes back under the field)
# --------------------------------------------------------------------------

def _reason_field():
    return forms.CharField(label="Why (goes in the gate's history)", required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))


class CriterionForm(forms.Form):
    metric = forms.ChoiceField(label="Metric")
    comparator = forms.ChoiceField(label="Must be", choices=Criterion.Comparator.choices)
    threshold = forms.DecimalField(label="Threshold", max_digits=14, decimal_places=4)
    scope = forms.ChoiceField(label="Measured over", choices=Criterion.ScopeKind.choices)
    window_hours = forms.IntegerField(label="Window (hours)", min_value=1, max_value=24 * 366, initial=24)
    steady_hours = forms.IntegerField(label="Held for (hours, optional)", min_value=1, max_value=24 * 366,
                                      required=False)
    reason = _reason_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["metric"].choices = [(m.key, m.label) for m in sorted(metrics.metrics(), key=lambda m: m.label)]


class CriterionEditForm(forms.Form):
    criterion = forms.ModelChoiceField(queryset=Criterion.objects.none(), widget=forms.HiddenInput)
    comparator = forms.ChoiceField(label="Must be", choices=Criterion.Comparator.choices)
    threshold = forms.DecimalField(label="Threshold", max_digits=14, decimal_places=4)
    window_hours = forms.IntegerField(label="Window (hours)", min_value=1, max_value=24 * 366)
    steady_hours = forms.IntegerField(label="Held for (hours, optional)", min_value=1, max_value=24 * 366,
                                      required=False)
    reason = _reason_field()

    def __init__(self, *args, template, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["criterion"].queryset = template.criteria.filter(retired_at__isnull=True)


class RetireForm(forms.Form):
    criterion = forms.ModelChoiceField(queryset=Criterion.objects.none(), widget=forms.HiddenInput)
    reason = _reason_field()

    def __init__(self, *args, template, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["criterion"].queryset = template.criteria.filter(retired_at__isnull=True)


class RolesForm(forms.Form):
    required_roles = forms.MultipleChoiceField(label="Roles that sign it off", choices=Role.choices,
                                               widget=forms.CheckboxSelectMultiple, required=False)
    reason = _reason_field()


class SignOffOnlyForm(forms.Form):
    reason = _reason_field()


class DecideForm(forms.Form):
    change = forms.ModelChoiceField(queryset=GateChange.objects.none(), widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("decline", "Decline")])

    def __init__(self, *args, template, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["change"].queryset = template.changes.filter(status=GateChange.Status.PENDING)
