from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Small shared helpers every app may use (SQL helpers, queueing, cache, input
    hygiene, throttles, API errors, command output, admin display, the `money`
    template filter). No models; imports nothing from the portal's apps."""

    name = "core"
