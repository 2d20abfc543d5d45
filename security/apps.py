from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "security"
    verbose_name = "Staff security"

    def ready(self):
        from django.contrib import admin

        from . import lockout  # noqa: F401 - connects the lockout-burst alert to axes' signal
        from .forms import StaffSignInForm

        admin.site.login_form = StaffSignInForm
