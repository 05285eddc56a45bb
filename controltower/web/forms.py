"""The store page's position search (a GET form: it works without JavaScript too); the Alerts page's forms."""
from zoneinfo import available_timezones

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
    """The daily digest choice; the time zone only for a person with a profile (where it is kept)."""
    daily_digest = forms.BooleanField(label="One daily digest instead of a message per alert", required=False)
    digest_hour = forms.TypedChoiceField(label="Send my digest at", coerce=int, initial=7,
                                         choices=[(hour, f"{hour:02d}:00") for hour in range(24)])
    time_zone = forms.ChoiceField(label="My time zone", required=False,
                                  help_text="The digest's hour is read in it.")

    def __init__(self, *args, tower_zone, has_profile=True, **kwargs):
        super().__init__(*args, **kwargs)
        if has_profile:
            self.fields["time_zone"].choices = [("", f"The tower's ({tower_zone})"),
                                                *((zone, zone) for zone in sorted(available_timezones()))]
        else:
            del self.fields["time_zone"]


class KindsForm(forms.Form):
    """The kinds of alert a person or a team is told about."""
    kinds = forms.MultipleChoiceField(label="Tell me about", required=False, widget=forms.CheckboxSelectMultiple)
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, widget=forms.HiddenInput,
                                  help_text="The team whose choice this is (an administrator's); none: your own.")

    def __init__(self, *args, kinds, **kwargs):
        """`kinds`: the AlertKinds offered, or {kind: label} in other words (a team's)."""
        super().__init__(*args, **kwargs)
        labels = kinds if isinstance(kinds, dict) else {kind: kind.label for kind in kinds}
        self.fields["kinds"].choices = [(kind.value, label) for kind, label in labels.items()]
