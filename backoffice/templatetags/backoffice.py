from django import template

from core import display
from security import staff_actions

register = template.Library()


@register.filter
def admin_link(obj, text=None):
    """{{ order|admin_link }}: a link to the object's admin page."""
    return display.link(obj, text)


@register.filter
def readable(value):
    """{{ order.paid_at|readable }}: 1 Dec 2026, 17:39 in the portal's time zone, or —."""
    return display.when(value)


@register.inclusion_tag("admin/backoffice/action_buttons.html", takes_context=True)
def staff_action_buttons(context, obj):
    """The object's staff actions this user may take, as the admin's object-tools
    buttons (those that cannot be done now are shown greyed, saying why). Actions
    with their own inputs (a refund's amount) open their page whatever the state."""
    request = context["request"]
    return {"obj": obj, "offered": staff_actions.offered(obj, request.user)}
