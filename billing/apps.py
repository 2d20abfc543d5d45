from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self):
        from security import staff_actions

        from .staff_actions import DEFINITIONS

        staff_actions.register(*DEFINITIONS)
