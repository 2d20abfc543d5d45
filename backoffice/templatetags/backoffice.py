from django import template

from backoffice import display

register = template.Library()


@register.filter
def admin_link(obj, text=None):
    """{{ order|admin_link }}: a link to the object's admin page."""
    return display.link(obj, text)


@register.filter
def readable(value):
    """{{ order.paid_at|readable }}: 1 Dec 2026, 17:39 in the portal's time zone, or —."""
    return display.when(value)
