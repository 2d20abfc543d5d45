"""What reports plugs into the ledger audit (ops.audit, below it), imported once by
ReportsConfig.ready(): the month's GST return is checked against its documents."""

from ops.audit import monthly_checks

from .gstr1_check import gstr1_problems

monthly_checks["GSTR-1"] = gstr1_problems
