from django.apps import AppConfig


class AffiliatesConfig(AppConfig):
    name = "affiliates"

    def ready(self):
        from . import registrations  # noqa: F401 - registers this app's handlers with the apps below it
