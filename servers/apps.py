from django.apps import AppConfig


class ServersConfig(AppConfig):
    name = "servers"

    def ready(self):
        from . import registrations  # noqa: F401 - registers this app's handlers with the apps below it
