"""Staff reports inside the admin (admin.site.admin_view wraps every view in urls.py)."""

import csv
import io
import tempfile

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import permission_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from . import selectors
from .gstr1 import BadMonth, gstr1_write, month_parse, next_month, previous_month
from .gstr1 import rupees as rupees_decimal


def month_or_404(text):
    try:
        return month_parse(text, timezone.localdate())
    except BadMonth:
        raise Http404("No such month") from None


@permission_required("billing.view_gst_return", raise_exception=True)
def gst_latest(request):
    """The return being filed now: last month's."""
    return redirect("reports:gst-month", f"{previous_month(timezone.localdate().replace(day=1)):%Y-%m}")


@permission_required("billing.view_gst_return", raise_exception=True)
def gst_month(request, month):
    first = month_or_404(month)
    today = timezone.localdate()
    following = next_month(first)
    context = {
        **admin.site.each_context(request),
        "title": f"GSTR-1 for {first:%B %Y}",
        "month": first,
        "previous": previous_month(first),
        "following": following if following <= today else None,
        "seller_gstin": settings.SELLER_GSTIN,
        **selectors.gst_month(first),
    }
    return render(request, "admin/reports/gst_month.html", context)


@permission_required("billing.view_gst_return", raise_exception=True)
def gst_month_json(request, month):
    """The same JSON as `gstr1 YYYY-MM`, spooled to a temporary file and sent from it."""
    first = month_or_404(month)
    if not settings.SELLER_GSTIN:
        raise Http404("SELLER_GSTIN is not set")
    spool = tempfile.TemporaryFile()
    out = io.TextIOWrapper(spool, encoding="utf-8")
    gstr1_write(first, out, gstin=settings.SELLER_GSTIN)
    out.flush()
    out.detach()
    spool.seek(0)
    filename = f"GSTR1_{first:%m%Y}_{settings.SELLER_GSTIN}.json"
    return FileResponse(spool, as_attachment=True, filename=filename, content_type="application/json")


@permission_required("billing.view_business_reports", raise_exception=True)
def index(request):
    today = timezone.localdate()
    context = {
        **admin.site.each_context(request),
        "title": "Reports",
        "reports": selectors.business_reports(today),
        "gst_months": selectors.months_ending(today, 3)[::-1],
    }
    return render(request, "admin/reports/index.html", context)


@permission_required("billing.view_business_reports", raise_exception=True)
def report_csv(request, key):
    """The numbers of one report's table; money in rupees with two decimals."""
    report = selectors.business_report(key, timezone.localdate())
    if report is None:
        raise Http404("No such report")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{key}.csv"'
    writer = csv.writer(response)
    writer.writerow([report.label_heading, *(name for name, _ in report.columns)])
    for label, cells in report.rows():
        writer.writerow([label, *(cell(value, is_money) for value, is_money in cells)])
    return response


def cell(value: int, money: bool) -> str:
    return str(rupees_decimal(value)) if money else str(value)
