"""The store page's position search (a GET form: it works without JavaScript too); the Alerts page's forms."""
from django import forms

from exceptions.models import Team
from inventory.models import STATES


class PositionSearchForm(forms.Form):
    q = forms.CharField(label="SKU", required=False, max_length=100,
                        help_text="Part of the SKU code or description")
    state = forms.ChoiceField(label="State", required=False,
                              choices=[("", "Any state"), *((s, s.replace("_", " ")) for s in STATES)],
                              help_text="Only positions with a quantity in this state")
    negative = forms.BooleanField(label="Negative only", required=False,
                                  help_text="Below zero in the state (any state when none is chosen)")


class ChannelForm(forms.Form):
    """A new alert channel: one Apprise URL (checked by controltower.alerts.add_channel)."""
    url = forms.CharField(label="Apprise URL", max_length=1000,
                          help_text="e.g. mailto://user:password@example.com, slack://TokenA/TokenB/TokenC, "
                                    "msteams://…, json://host/path. Stored sealed; shown masked.")
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, widget=forms.HiddenInput,
                                  help_text="The team whose channel this is (an administrator's); none: your own.")


class DigestForm(forms.Form):
    daily_digest = forms.BooleanField(label="One daily digest instead of a message per alert", required=False)
