from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "security"
    verbose_name = "Staff security"

    def ready(self):
        from . import lockout  # noqa: F401 - connects the lockout-burst alert to axes' signal
