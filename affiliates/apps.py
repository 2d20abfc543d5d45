from django.apps import AppConfig


class AffiliatesConfig(AppConfig):
    name = "affiliates"

    def ready(self):
        from security import staff_actions

        from . import registrations  # noqa: F401 - registers this app's handlers with the apps below it
        from .staff_actions import DEFINITIONS

        staff_actions.register(*DEFINITIONS)
