"""The one staff-action framework: every staff action that moves money or machines
(refund, mark handled, requeue, retry, suspend, unsuspend, terminate, payout) is one
StaffActionDefinition, written in the app that owns the change and registered from
its AppConfig.ready(). Whoever offers it (an admin list action, an object's page, the
ops dashboard, a command) checks it with `confirmation_problem` and carries it out
with `run`: the owning service and the staff-audit row (security.models.StaffAction)
commit in one transaction, so a refused action leaves no record and a done one
always has its record.

The pages (confirmation, forms) live in backoffice; a lower app's admin reaches them
by URL name (`list_action_forward`), never by import."""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import resolve, reverse

from .audit import staff_action_record
from .second_factor import CODE_FIELD, second_factor_fresh

REASON_MISSING = "Say why. A reason is required: it is kept with the action, with your name, the time and your address."
CODE_MISSING = "type a fresh code from your authenticator app (each code works once)."


class StaffActionRefused(Exception):
    """The service refused or found nothing to do; the message is for staff."""


@dataclass(frozen=True)
class Done:
    """What `perform` returns when the audit row should carry more than the action's key."""

    message: str
    details: dict = field(default_factory=dict)


def always_available(obj, **params):
    return None


def itself(obj):
    return obj


@dataclass(frozen=True)
class StaffActionDefinition:
    """One dangerous staff action: what it is called, what it needs and which service does it."""

    key: str  # in URLs: /admin/actions/<model>/<pk>/<key>/
    label: str  # what was done, as the staff audit shows it ("Unsuspend")
    model: type
    permission: str  # app_label.codename, checked with user.has_perm; the audit row's `action`
    explains: str  # what happens, said on the confirmation page
    perform: Callable  # (obj, *, reason, actor, **params) -> message or Done; raises StaffActionRefused
    unavailable: Callable = always_available  # (obj, **params) -> None when it can be done, else why not
    # Destroying a machine, requeueing provisioning or moving money asks for a new
    # authentication code each time, whatever the session proved earlier.
    fresh_second_factor: bool = False
    # A form for the action's own inputs (a refund's amount): built as form(data, objects=[...]);
    # its `params()` are passed to `unavailable` and `perform`.
    form: type | None = None
    # The object the audit row names, when it is not the one acted on (a payment's refund names its order).
    audit_target: Callable = itself
    extra_permissions: tuple = ()  # further permissions the action needs (a retry needs both of its kinds)
    # The service writes the audit row itself, in its transaction (a payout names the Payout
    # it creates); it then gets `request` and `via` to record who, from where and how.
    audited_by_service: bool = False
    # The form field a refusal with the typed inputs belongs beside (a refund's amount above what is left).
    refusal_field: str = ""
    describe: Callable | None = None  # obj -> what the action would do to it, for the confirmation's table
    list_title: str = ""  # the list confirmation's title, when "<label> the selected <objects>" says too little
    # Errors of the service that mean "not done, nothing recorded" (Razorpay failing), reported like a refusal.
    service_errors: tuple = ()
    # How staff are told it was not done: for the whole confirmation, and for one object of several.
    refused_prefix: str = ""  # default "<label> not done: "
    object_refused: str = "{label} {obj._meta.verbose_name} #{obj.pk}: not done. {why}"

    @property
    def model_name(self):
        return self.model._meta.model_name

    @property
    def model_label(self):
        return self.model._meta.label_lower

    def refused(self, why) -> str:
        return f"{self.refused_prefix or self.label + ' not done: '}{why}"

    def object_refused_message(self, obj, why) -> str:
        return self.object_refused.format(label=self.label, obj=obj, why=why)

    def allowed(self, user) -> bool:
        return all(user.has_perm(p) for p in (self.permission, *self.extra_permissions))


REGISTRY: dict[tuple[str, str], StaffActionDefinition] = {}


def register(*definitions):
    """Called from the owning app's AppConfig.ready()."""
    for definition in definitions:
        REGISTRY[(definition.model_name, definition.key)] = definition


def find(model_name, key) -> StaffActionDefinition | None:
    return REGISTRY.get((model_name, key))


# What the audit says for records written outside a definition (runs over many
# objects, commands) and for records from before definitions named themselves.
OTHER_LABELS = {
    "servers.requeue_server": "Recover orphaned orders / requeue",
    "security.staff_totp": "New authenticator device (staff_totp)",
    "affiliates.pay_commission": "Record payout",
    "billing.refund_order": "Refund",
    "billing.mark_order_handled": "Mark handled",
    "servers.terminate_server": "Terminate",
}


def label_of(record) -> str:
    """What a staff-audit row says was done ("Unsuspend"), not the permission it needed
    (suspend and unsuspend need the same one)."""
    key = (record.details or {}).get("action")
    definition = find(record.target_type.rpartition(".")[2], key) if key else None
    if definition is not None:
        return definition.label
    return OTHER_LABELS.get(record.action, record.action)


def offered(obj, user):
    """The actions for `obj` this user may take, each with why it cannot be done now (or None)."""
    return [
        (definition, definition.unavailable(obj))
        for definition in REGISTRY.values()
        if isinstance(obj, definition.model) and definition.allowed(user)
    ]


def form_for(definition, data, objects):
    return definition.form(data, objects=objects) if definition.form is not None else None


def none_available(definition, objects, params) -> list | None:
    """[(obj, why), ...] when not one of `objects` can take the action now, else None."""
    reasons = [(obj, definition.unavailable(obj, **params)) for obj in objects]
    return reasons if reasons and all(why for _, why in reasons) else None


def code_problem(definition, request):
    if definition.fresh_second_factor and not second_factor_fresh(request, request.POST.get(CODE_FIELD)):
        return CODE_MISSING
    return None


def confirmation_problem(definition, request, *, reason, form=None, objects=()):
    """Why a confirmation may not go ahead (for staff), or None, in an order that never
    spends a fresh code on a confirmation refused anyway: the reason, the action's own
    form, whether any object can take it now, and the code last. Checked once per
    confirmation, however many objects it is for: a code is good once."""
    if not reason:
        return REASON_MISSING
    if form is not None and not form.is_valid():
        return " ".join(str(error) for errors in form.errors.values() for error in errors)
    blocked = none_available(definition, objects, form.params() if form is not None else {})
    if blocked:
        if form is not None and definition.refusal_field in form.fields:
            for _, why in blocked:
                form.add_error(definition.refusal_field, why)
        return " ".join(why for _, why in blocked)
    return code_problem(definition, request)


def run(definition, obj, *, reason, actor=None, request=None, via="admin", params=None):
    """Carry out a confirmed action as `actor` (default: request.user), through the
    definition's service, and record it in the staff audit (who, when, from which
    address, what, why) in the same transaction. A staff user without the action's
    permission is refused here too, whatever the page checked."""
    if actor is None and request is not None:
        actor = request.user
    if actor is not None and not definition.allowed(actor):
        raise PermissionDenied
    params = dict(params or {})
    if definition.audited_by_service:
        params.update(request=request, via=via)
    with transaction.atomic():
        outcome = definition.perform(obj, reason=reason, actor=actor, **params)
        done = outcome if isinstance(outcome, Done) else Done(outcome)
        if definition.audited_by_service:
            return done.message
        staff_action_record(
            definition.permission,
            target=definition.audit_target(obj),
            actor=actor,
            request=request,
            via=via,
            reason=reason,
            details={"action": definition.key, **done.details},
        )
    return done.message


@dataclass(frozen=True)
class Outcome:
    obj: object
    done: bool
    message: str  # for staff: what was done, or why not


def run_each(definition, objects, *, reason, request, via="admin", params=None):
    """`run` for each object in turn, each in its own transaction: one that cannot be
    done now (`unavailable`) or that its service refuses (StaffActionRefused, or one of
    its `service_errors`, such as a gateway's error) is reported and the others still go ahead.
    One Outcome an object, in the order given."""
    params = params or {}
    outcomes = []
    for obj in objects:
        why = definition.unavailable(obj, **params)
        if why is None:
            try:
                message = run(definition, obj, reason=reason, request=request, via=via, params=params)
                outcomes.append(Outcome(obj, True, message))
                continue
            except (StaffActionRefused, *definition.service_errors) as exc:
                why = str(exc)
        outcomes.append(Outcome(obj, False, why))
    return outcomes


def list_action(definition, name, *, description=None):
    """The Django admin list action `name` for `definition`, for a lower app's
    ModelAdmin: it hands the request to the back office's confirmation page,
    found by its URL name (backoffice is above every app that offers actions).
    `definition` may be a (model_name, key) pair for an action defined in an app
    above the admin's own (billing's order list offers payments' refund): it is
    looked up in the registry when used, so the admin need not import it."""

    def current():
        return definition if isinstance(definition, StaffActionDefinition) else find(*definition)

    def forward(model_admin, request, queryset):
        found = current()
        url = reverse("backoffice:list-action", args=[found.model_name, found.key])
        match = resolve(url)
        request.staff_action_list_name = name
        request.staff_action_queryset = queryset
        return match.func(request, *match.args, **match.kwargs)

    forward.__name__ = name
    forward.staff_action = current
    if description is None:
        description = f"{definition.label} selected {definition.model._meta.verbose_name_plural}…"
    return admin.action(description=description)(forward)


class StaffListActionsMixin:
    """For a ModelAdmin: a list action made by `list_action` is offered, and accepted,
    only for staff who may take its action (the changelist refuses an action that
    get_actions does not list)."""

    def get_actions(self, request):
        return {
            name: entry
            for name, entry in super().get_actions(request).items()
            if not hasattr(entry[0], "staff_action") or entry[0].staff_action().allowed(request.user)
        }
