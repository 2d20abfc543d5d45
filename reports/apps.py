from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self):
        from ops.audit import monthly_checks

        from .gstr1_check import gstr1_problems

        # billing sits below reports: it runs the checks that upper apps register.
        monthly_checks["GSTR-1"] = gstr1_problems
