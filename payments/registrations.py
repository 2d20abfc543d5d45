"""What payments plugs into the registries of the apps below it and into its own
(payments.hooks), imported once by PaymentsConfig.ready()."""

from billing.models import Order
from security import staff_actions

from . import hooks
from .refunds import new_order_withdraw
from .services import new_order_paid
from .staff_actions import DEFINITIONS

hooks.paid_handlers[Order.Kind.NEW] = new_order_paid
hooks.refund_withdraw_handlers[Order.Kind.NEW] = new_order_withdraw
staff_actions.register(*DEFINITIONS)
