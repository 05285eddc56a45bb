"""Form widgets of our own."""
from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe


class LongSelect(forms.Select):
    """A <select> for lists of hundreds (stores, people), rendered in Python.

    Django renders every option through a template, about 0.3 ms an option:
    the estate's 600 stores made the case queue slow. Flat choices only (no
    option groups)."""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        chosen = set(self.format_value(value))
        options = format_html_join(
            "", "<option value=\"{}\"{}>{}</option>",
            ((key, mark_safe(" selected") if str(key) in chosen else "", label)
             for key, label in ((str(v), label) for v, label in self.choices)),
        )
        return format_html("<select{}>{}</select>", flatatt(attrs), options)
