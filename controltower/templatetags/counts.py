from django import template

from controltower.counts import capped_text

register = template.Library()


@register.filter
def capped(count):
    """A capped_count for people: "10,000+" past the cap."""
    return capped_text(count)
