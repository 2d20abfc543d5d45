from django.apps import AppConfig


class ServersConfig(AppConfig):
    name = "servers"

    def ready(self):
        from security import staff_actions

        from .staff_actions import DEFINITIONS

        staff_actions.register(*DEFINITIONS)
