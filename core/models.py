from django.db import models


class PeriodicJob(models.Model):
    """One row per periodic job of the beat schedule, named as its entry is: the
    lease that lets one worker at a time run it, and when it last ran.

    Written only by core.periodic, by compare-and-set: a run starts only when
    the lease is free or has run out AND the last start is older than the job's
    gap (half its schedule interval), so however many beats send a job, it runs
    once per gap and never twice at once. Staff read it under Admin → Periodic jobs.
    """

    class Outcome(models.TextChoices):
        RUNNING = "running", "running (or its worker died: see the lease)"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"

    name = models.CharField("job (beat schedule entry)", max_length=200, primary_key=True)
    lease_until = models.DateTimeField(
        "lease held until", null=True, blank=True, help_text="Empty or past: free to run. Renewed while a run lasts."
    )
    holder = models.CharField("last run by (host and process)", max_length=200, blank=True)
    runs = models.PositiveIntegerField("runs started", default=0)
    last_started_at = models.DateTimeField("last started", null=True, blank=True)
    last_finished_at = models.DateTimeField("last finished", null=True, blank=True)
    last_outcome = models.CharField("last outcome", max_length=16, choices=Outcome.choices, blank=True)
    last_error = models.TextField("last error", blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "periodic job"
        verbose_name_plural = "periodic jobs"

    def __str__(self):
        return self.name
