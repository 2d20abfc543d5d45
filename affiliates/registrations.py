"""What affiliates plugs into the apps below it, imported once by
AffiliatesConfig.ready(): the referrer copied onto a new order, the commission of
a paid order, the commission following a refund (payments.hooks), and the billing
day's "approve commissions past their hold" step (lifecycle.billing_day.STEPS)."""

from lifecycle.billing_day import STEPS
from payments import hooks
from security import staff_actions

from .services import (
    commission_adjust_for_refund,
    commission_record_for_paid_order,
    commissions_approve_step,
    referrer_id_for,
)
from .staff_actions import DEFINITIONS


def register(handlers, handler):
    if handler not in handlers:
        handlers.append(handler)


register(hooks.referrer_lookups, referrer_id_for)
register(hooks.paid_order_handlers, commission_record_for_paid_order)
register(hooks.refund_processed_handlers, commission_adjust_for_refund)
register(STEPS, commissions_approve_step)
staff_actions.register(*DEFINITIONS)
