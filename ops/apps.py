from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self):
        from security import staff_actions

        from .staff_actions import DEFINITIONS

        staff_actions.register(*DEFINITIONS)
