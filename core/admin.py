from django.contrib import admin

from .admin_inlines import ReadOnlyModelAdmin
from .display import when
from .models import PeriodicJob


@admin.register(PeriodicJob)
class PeriodicJobAdmin(ReadOnlyModelAdmin):
    """When each periodic job last ran and who holds it now; rows are written only
    by core.periodic. Schedules themselves are under Periodic tasks."""

    list_display = ["name", "last_outcome", "started", "finished", "runs", "lease_until", "holder"]
    list_filter = ["last_outcome"]
    fields = [
        "name", "last_outcome", "last_error", "last_started_at", "last_finished_at", "runs", "lease_until", "holder",
    ]  # fmt: skip

    @admin.display(description="last started", ordering="last_started_at")
    def started(self, job):
        return when(job.last_started_at)

    @admin.display(description="last finished", ordering="last_finished_at")
    def finished(self, job):
        return when(job.last_finished_at)
