"""Where the apps above payments plug into the funnel and into refunds.

payments sits below lifecycle and affiliates (docs/architecture.md) and never
imports them: each registers its handlers here from its AppConfig.ready(). The
funnel and the refund path call them inside their transaction, with the order's
row lock held (lock order: order, then payment, then server).

- `paid_handlers[kind](order, gateway_payment, *, source, actor)`: what a paid
  order of that kind brings about, besides being paid; returns its server (or
  None). `new` is servers' own (payments registers it: servers is below),
  `renewal` is lifecycle's (the server is extended).
- `paid_order_handlers`: called with every order just paid, after its kind's
  handler (affiliates: the referrer's commission, one insert or nothing).
- `refund_withdraw_handlers[kind](order, *, source, actor)`: what a full refund of
  an order of that kind takes back, once, with its transition to refunded (`new`:
  payments terminates the server; `renewal`: lifecycle takes the months back).
- `refund_processed_handlers`: called with (order, *, refunded_paise, refund_id,
  source, actor) for every refund processed against the payment that paid the
  order (affiliates: the commission follows the money).
- `payment_applied_handlers`: called with (order, gateway_payment, result, server,
  *, source) for every payment the funnel applied, whatever the result, last in
  its transaction (lifecycle's autopay: an order that registers a mandate or was
  debited from one; the handler returns at once for any other order).
- `token_event_handler(token_id, event, *, event_id)`: Razorpay's `token.*`
  webhooks (the autopay mandate is lifecycle's); its answer is the event's result.
- `referrer_lookups`: each maps a buyer to the id of the affiliate who referred
  them, or None; the first answer is copied onto a new order (affiliates).

A paid order of a kind with no handler raises KeyError: an order must never be
marked paid without what it was bought for.
"""

paid_handlers = {}
paid_order_handlers = []
refund_withdraw_handlers = {}
refund_processed_handlers = []
referrer_lookups = []
payment_applied_handlers = []
token_event_handler = None


def referrer_id_for(user) -> int | None:
    """The id of the affiliate who referred `user`, or None."""
    for lookup in referrer_lookups:
        referrer_id = lookup(user)
        if referrer_id is not None:
            return referrer_id
    return None
