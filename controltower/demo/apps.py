from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo retailer and its `load_demo` command; it has no models."""

    name = "controltower.demo"
    label = "demo"
    verbose_name = "Demo retailer"
