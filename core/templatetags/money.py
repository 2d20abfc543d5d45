from django import template

register = template.Library()


@register.filter
def rupees(paise):
    """Format integer paise as ₹1,23,456.78 (Indian digit grouping), no float involved."""
    if paise is None or paise == "":
        return ""
    paise = int(paise)
    sign = "-" if paise < 0 else ""
    rupees_part, paise_part = divmod(abs(paise), 100)
    digits = str(rupees_part)
    if len(digits) > 3:
        head, tail = digits[:-3], digits[-3:]
        groups = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        digits = ",".join(groups) + "," + tail
    return f"{sign}₹{digits}.{paise_part:02d}"


@register.filter
def months(count):
    """How long a payment buys, in words: "1 month", "12 months" (not "1 month(s)")."""
    count = int(count)
    return f"{count} month" if count == 1 else f"{count} months"
