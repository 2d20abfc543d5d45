"""How the admin shows things: money in rupees, dates people read, and links from
every record to the records it belongs with (customer, order, payment, invoice,
server, tickets). Columns and read-only fields are built from these helpers so
every admin page says the same thing the same way."""

from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join

from core.templatetags.money import rupees

EMPTY = "—"


def rupee_field(field, description, *, sign=""):
    """An admin column or read-only field showing integer paise `field` as ₹1,23,456.78."""

    @admin.display(description=description, ordering=field)
    def show(self, obj):
        value = getattr(obj, field)
        return EMPTY if value is None else f"{sign}{rupees(value)}"

    show.__name__ = f"{field}_in_rupees"
    return show


def when(value):
    """1 Dec 2026, 17:39 in the portal's time zone."""
    if not value:
        return EMPTY
    if hasattr(value, "tzinfo"):
        value = timezone.localtime(value)
        return formats.date_format(value, "DATETIME_FORMAT")
    return formats.date_format(value, "DATE_FORMAT")


def admin_url(obj):
    meta = obj._meta
    try:
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return None


def link(obj, text=None):
    """A link to `obj`'s admin page, or its name when it has none (or is None)."""
    if obj is None:
        return EMPTY
    url = admin_url(obj)
    label = text if text is not None else str(obj)
    return format_html('<a href="{}">{}</a>', url, label) if url else label


def links(objects, text=str):
    objects = list(objects)
    if not objects:
        return EMPTY
    return format_html_join(", ", '<a href="{}">{}</a>', ((admin_url(obj), text(obj)) for obj in objects))


def customer_link(user):
    """The customer's email, linking to their whole history."""
    if user is None:
        return EMPTY
    return format_html('<a href="{}">{}</a>', reverse("backoffice:customer", args=[user.pk]), user.email)
