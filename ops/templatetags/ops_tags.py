from django import template

from ops.selectors import ops_counts

register = template.Library()


@register.inclusion_tag("admin/ops/summary.html")
def ops_summary():
    return {"counts": ops_counts()}
