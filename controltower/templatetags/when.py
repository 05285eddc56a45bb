"""`{{ moment|when }}`, `{{ moment|when:location }}`, `{{ a_date|day }}`: the one
date and time format of every screen (controltower.when)."""
from django import template

from controltower import when as formats

register = template.Library()


@register.filter
def when(moment, where=None):
    """To the minute in `where`'s time zone (a location or a zone name; none: UTC), with its abbreviation."""
    return formats.when(moment, where)


@register.filter
def day(value, where=None):
    return formats.day(value, where)
