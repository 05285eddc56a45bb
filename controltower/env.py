"""Tiny typed readers for settings that come from the environment."""
import os

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def env_str(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default=False):
    """1/0, true/false, yes/no, on/off in any case; unset or empty: `default`.
    Anything else is refused: a typo must not quietly read as false."""
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    if value.lower() in TRUE_WORDS:
        return True
    if value.lower() in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a yes or no; use one of {', '.join(TRUE_WORDS + FALSE_WORDS)} (any case).")


def env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name, default=()):
    value = os.environ.get(name)
    if not value:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]
