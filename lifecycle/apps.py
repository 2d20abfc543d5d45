from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "lifecycle"
    verbose_name = "Service lifecycle"

    def ready(self):
        from . import registrations  # noqa: F401 - registers this app's handlers with the apps below it
