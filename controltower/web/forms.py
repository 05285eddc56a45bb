"""The store page's position search (a GET form: it works without JavaScript too)."""
from django import forms

from inventory.models import STATES


class PositionSearchForm(forms.Form):
    q = forms.CharField(label="SKU", required=False, max_length=100,
                        help_text="Part of the SKU code or description")
    state = forms.ChoiceField(label="State", required=False,
                              choices=[("", "Any state"), *((s, s.replace("_", " ")) for s in STATES)],
                              help_text="Only positions with a quantity in this state")
    negative = forms.BooleanField(label="Negative only", required=False,
                                  help_text="Below zero in the state (any state when none is chosen)")
