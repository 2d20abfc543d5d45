from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Small shared helpers every app may use (SQL helpers, claims and leases, the
    periodic-job guard, queueing, cache, input hygiene, throttles, API errors,
    command output, admin display, the `money` template filter). One model, the
    periodic jobs' leases; imports nothing from the portal's apps."""

    name = "core"
    verbose_name = "Scheduled jobs"
