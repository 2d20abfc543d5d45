"""The staff audit: one call records a dangerous staff action (refund, suspension,
termination, recovery, marking handled)."""

from core.client_address import client_address

from .models import StaffAction


def staff_action_record(action, *, target, actor=None, request=None, via, reason="", details=None) -> StaffAction:
    """Record that `actor` did `action` (the permission codename it needed, e.g.
    "billing.refund_order") to `target` (a model instance, or None for a run over many) `via` "admin", "dashboard",
    "command" or "api", and why. The address comes from `request` (TRUSTED_PROXY_COUNT
    honoured); `actor` defaults to request.user. Call it inside the action's transaction:
    the record commits or rolls back with the action."""
    address = None
    if request is not None:
        address = client_address(request) or None
        if actor is None and request.user.is_authenticated:
            actor = request.user
    return StaffAction.objects.create(
        actor=actor,
        actor_email=getattr(actor, "email", "") or "",
        ip_address=address,
        via=via,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:200] if target is not None else "",
        reason=reason,
        details=details or {},
    )
