"""What the portal needs from a payment gateway, independent of Razorpay's SDK."""

from dataclasses import dataclass, field


class GatewayError(Exception):
    """A gateway call failed. `customer_message` is safe to show a customer."""

    customer_message = "We could not reach our payment provider. Please try again in a minute."


class GatewayUnavailable(GatewayError):
    """Timeout, connection error or a 5xx: the same call may work later."""


class GatewayRejected(GatewayError):
    """The gateway refused the request (4xx); retrying the same call will not help."""

    customer_message = "Our payment provider refused this request. Please contact support if it persists."


class GatewayMismatch(GatewayError):
    """The gateway answered with something other than what we asked for (amount, currency)."""


@dataclass(frozen=True)
class GatewayOrder:
    id: str
    amount_paise: int
    currency: str
    receipt: str = ""


@dataclass(frozen=True)
class GatewayPayment:
    id: str
    order_id: str
    status: str  # created / authorized / captured / refunded / failed
    amount_paise: int
    currency: str
    method: str = ""
    error_code: str = ""
    error_description: str = ""
    # A payment that registered a mandate (or is debited from one) names its token.
    token_id: str = ""
    customer_id: str = ""
    raw: dict = field(default_factory=dict, compare=False)

    @classmethod
    def from_entity(cls, entity: dict) -> "GatewayPayment":
        """Build from a Razorpay payment entity (API answer or webhook payload)."""
        return cls(
            id=str(entity["id"]),
            order_id=str(entity.get("order_id") or ""),
            status=str(entity["status"]),
            amount_paise=int(entity["amount"]),
            currency=str(entity["currency"]),
            method=str(entity.get("method") or ""),
            error_code=str(entity.get("error_code") or ""),
            error_description=str(entity.get("error_description") or ""),
            token_id=str(entity.get("token_id") or ""),
            customer_id=str(entity.get("customer_id") or ""),
            raw=entity,
        )


@dataclass(frozen=True)
class GatewayRefund:
    id: str
    payment_id: str
    amount_paise: int
    status: str


@dataclass(frozen=True)
class RecurringTerms:
    """What a Razorpay order needs to register a mandate (token) or be debited from
    one: the customer and, to register, the token's limits (integer paise, epoch)."""

    customer_id: str
    max_amount_paise: int | None = None  # None: a debit's order, no token to register
    expire_at: int | None = None
    frequency: str = "as_presented"


@dataclass(frozen=True)
class GatewayToken:
    """A customer's token (the mandate at Razorpay). `status` is its
    recurring_details.status: initiated, confirmed, rejected, cancelled, paused."""

    id: str
    status: str
    method: str = ""
    max_amount_paise: int | None = None
    failure_reason: str = ""

    @classmethod
    def from_entity(cls, entity: dict) -> "GatewayToken":
        details = entity.get("recurring_details") or {}
        max_amount = entity.get("max_amount")
        return cls(
            id=str(entity["id"]),
            status=str(details.get("status") or ""),
            method=str(entity.get("method") or ""),
            max_amount_paise=int(max_amount) if max_amount is not None else None,
            failure_reason=str(details.get("failure_reason") or ""),
        )
