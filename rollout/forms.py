"""Forms of the rollout screens. They only collect input: the rules (who may,
what is required, four eyes, open gates) are rollout.gates', whose
ValidationError is put back on the form (controltower.answers.add_service_errors)."""
from django import forms

from .models import GoNoGo


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
