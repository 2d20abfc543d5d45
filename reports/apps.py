from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self):
        from . import registrations  # noqa: F401 - registers this app's handlers with the apps below it
