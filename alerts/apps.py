from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"

    def ready(self):
        from . import registrations  # noqa: F401 - registers this app's handlers with the apps below it
