from django.apps import AppConfig


class ControlTowerConfig(AppConfig):
    name = "controltower"
    verbose_name = "Control Tower (accounts and tokens)"

    def ready(self):
        from .audit import register_trail

        register_trail()
