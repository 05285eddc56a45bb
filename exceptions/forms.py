"""Forms of the case screens. They only collect input: every rule (what is
required, who may do what) is checked by the case services
(exceptions/services/), and their ValidationError is put back on the form
with controltower.answers.add_service_errors."""
from django import forms
from django.contrib.auth import get_user_model

from controltower.permissions import assignable_people
from controltower.widgets import LongSelect
from inventory.fields import MAX_QUANTITY
from inventory.models import STATES

from .models import AdjustmentReason, ResolutionCode, RootCause

STATE_CHOICES = [(state, state.replace("_", " ")) for state in STATES]


class AssigneeField(forms.ModelChoiceField):
    widget = LongSelect

    def label_from_instance(self, user):
        return user.get_full_name() or user.username


class AssignForm(forms.Form):
    assignee = AssigneeField(queryset=get_user_model().objects.none(), required=False, empty_label="Choose a person")

    def __init__(self, *args, locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_people(locations)


class CommentForm(forms.Form):
    body = forms.CharField(label="Comment", required=False, widget=forms.Textarea(attrs={"rows": 3}))


class WaitForm(forms.Form):
    waiting_on = forms.CharField(label="Waiting on", required=False, max_length=200,
                                 help_text="Who or what the case waits on; the SLA clock stops meanwhile.")


class ReverseDuplicateForm(forms.Form):
    """No fields: it carries what the service refuses (e.g. the pair was explained meanwhile)."""


class ExplainDuplicateForm(forms.Form):
    reason = forms.CharField(label="Why are they not duplicates?", required=False, max_length=300,
                             help_text="e.g. two customers bought the same item at the same till second.")


class ReopenForm(forms.Form):
    reason = forms.CharField(label="Why reopen?", required=False, max_length=300)


class ListedChoiceField(forms.ChoiceField):
    """A choice from a list; anything else passes to the service, which says what is wrong in words."""

    def valid_value(self, value):
        return True


class ResolveForm(forms.Form):
    resolution_code = ListedChoiceField(
        label="How was it put right?", required=False,
        choices=[("", "Choose a resolution")] + ResolutionCode.choices)
    root_cause = ListedChoiceField(
        label="Root cause", required=False, choices=[("", "Choose a root cause")] + RootCause.choices)
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 3}))


class AdjustmentForm(forms.Form):
    reason = ListedChoiceField(label="Reason code", required=False,
                               choices=[("", "Choose a reason")] + AdjustmentReason.choices)
    state = forms.ChoiceField(label="State", choices=STATE_CHOICES, initial="available")
    quantity = forms.IntegerField(label="Quantity (base units, negative takes stock out)", required=False,
                                  min_value=-MAX_QUANTITY, max_value=MAX_QUANTITY)
    confirm = forms.BooleanField(label="Post it anyway: I have checked the stock", required=False)


class RejectForm(forms.Form):
    reason = forms.CharField(label="Reason", required=False, max_length=300)


class CaseIdsField(forms.TypedMultipleChoiceField):
    """Case ids ticked in the queue. Any id is accepted here: the view checks
    each against the user's scope and refuses the request if one is outside it."""

    def __init__(self, **kwargs):
        super().__init__(coerce=int, required=False, **kwargs)

    def valid_value(self, value):
        return str(value).isdigit()


class BulkForm(forms.Form):
    ACTIONS = [("acknowledge", "Acknowledge"), ("assign_me", "Assign to me"), ("assign", "Assign to")]

    action = forms.ChoiceField(choices=ACTIONS)
    cases = CaseIdsField()
    assignee = AssigneeField(queryset=get_user_model().objects.none(), required=False, empty_label="a person…")

    def __init__(self, *args, locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignable_people(locations)

    def clean(self):
        data = super().clean()
        if not data.get("cases"):
            self.add_error("cases", "Select at least one case.")
        if data.get("action") == "assign" and not data.get("assignee"):
            self.add_error("assignee", "Choose who gets the selected cases.")
        return data


SEVERITY_WORDS = [
    (1, "1 · Trading stopped: a store cannot sell or serve"),
    (2, "2 · Serious: a workaround, at a cost"),
    (3, "3 · A nuisance that should be fixed"),
    (4, "4 · A question or small detail"),
]


class ReportIssueForm(forms.Form):
    """An issue a person reports (exceptions.services.reported checks it)."""

    location = forms.ChoiceField(label="Location", widget=LongSelect)
    category = forms.ChoiceField(label="What is it about", choices=[])
    severity = forms.TypedChoiceField(label="How bad is it", choices=SEVERITY_WORDS, coerce=int, initial=3)
    description = forms.CharField(label="What happened", widget=forms.Textarea(attrs={"rows": 5}),
                                  help_text="What you saw, where, since when; a till or SKU number helps.")
    photo = forms.FileField(label="A photo (optional)", required=False,
                            widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
                            help_text="JPEG, PNG or WebP; its location and other metadata are not kept.")

    def __init__(self, *args, locations, categories, **kwargs):
        super().__init__(*args, **kwargs)
        codes = [(location.code, f"{location.code} {location.name}") for location in locations]
        self.fields["location"].choices = codes if len(codes) == 1 else [("", "Choose a location"), *codes]
        self.fields["category"].choices = [("", "Choose a category"), *categories]
