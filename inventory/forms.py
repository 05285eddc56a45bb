"""The item master fix form: one SKU row for inventory.fixes.fix_sku. Every
field is free text here; the item master import validates it (its messages,
per field, come back onto the form)."""
from django import forms


class SKUFixForm(forms.Form):
    code = forms.CharField(label="SKU code", max_length=64)
    description = forms.CharField(required=False, max_length=300)
    category = forms.CharField(required=False, max_length=100)
    unit_cost = forms.CharField(label="Unit cost", required=False, max_length=40,
                                help_text="At cost, in the item master's currency, e.g. 0.89")
    base_unit = forms.CharField(label="Base unit", required=False, max_length=16,
                                help_text="The unit every quantity is kept in, e.g. EA; it cannot change once set")
    barcodes = forms.CharField(label="Barcodes to add", required=False, max_length=1000,
                               help_text="Separated by ';'. A barcode another SKU holds is refused.")
    conversions = forms.CharField(label="Unit conversions to add", required=False, max_length=1000,
                                  help_text="UNIT=FACTOR in base units, separated by ';', e.g. CS12=12")
    rejection = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def row(self):
        """The import's row of this form."""
        return {name: self.cleaned_data[name] for name in
                ("code", "description", "category", "unit_cost", "base_unit", "barcodes", "conversions")}


class DismissForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 30}), max_length=500,
                             help_text="Why no master-data fix can ever let this event in, e.g. the event has no "
                                       "time it occurred; the source must send it again.")
