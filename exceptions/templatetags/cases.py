from django import template

register = template.Library()


@register.filter
def words(value):
    """snake_case codes as plain words: "adjustment_requested" -> "adjustment requested"."""
    return str(value).replace("_", " ")
