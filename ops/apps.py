from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self):
        from . import registrations  # noqa: F401 - registers this app's handlers with the apps below it
