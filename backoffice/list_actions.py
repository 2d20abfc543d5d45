"""The staff actions of backoffice.actions as Django admin list actions, for many
objects at once: the same StaffAction (permission, `unavailable`, `perform`,
`fresh_second_factor`) and the same `run` with its staff audit row per object.
The first POST (from the changelist) shows a confirmation page listing the
objects and what stops any of them; its own POST, with `apply`, a reason and
(where wanted) a fresh code, runs the action on each and reports each."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from . import actions


def list_action(model, key, name):
    """The admin list action `name` (as posted by the changelist) for the StaffAction `key` of `model`."""
    action = actions.find(model._meta.model_name, key)

    def run_selected(model_admin, request, queryset):
        return selected_confirm_or_run(model_admin, request, queryset, action, name)

    run_selected.__name__ = name
    run_selected.staff_action = action
    return admin.action(description=f"{action.label} selected {model._meta.verbose_name_plural}…")(run_selected)


class StaffListActionsMixin:
    """For a ModelAdmin: a list action made by `list_action` is offered, and
    accepted, only for staff holding its StaffAction's permission (the changelist
    refuses an action that get_actions does not list)."""

    def get_actions(self, request):
        return {
            name: entry
            for name, entry in super().get_actions(request).items()
            if not hasattr(entry[0], "staff_action") or request.user.has_perm(entry[0].staff_action.permission)
        }


def selected_confirm_or_run(model_admin, request, queryset, action, name):
    if not request.user.has_perm(action.permission):
        raise PermissionDenied
    objects = list(queryset.select_related("user").order_by("pk"))
    error = None
    if request.POST.get("apply"):
        error = actions.confirmation_problem(action, request)
        if error is None:
            reason = request.POST["reason"].strip()
            for outcome in actions.run_each(action, objects, reason=reason, request=request):
                if outcome.done:
                    model_admin.message_user(request, outcome.message, messages.SUCCESS)
                else:
                    label = f"{outcome.obj._meta.verbose_name} #{outcome.obj.pk}"
                    model_admin.message_user(request, f"{action.label} {label}: not done. {outcome.message}", messages.ERROR)
            return None
    rows = [(obj, action.unavailable(obj)) for obj in objects]
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"{action.label} the selected {model_admin.opts.verbose_name_plural}",
        "action": action,
        "list_action": name,
        "rows": rows,
        "doable": sum(1 for _, unavailable in rows if unavailable is None),
        "error": error,
        "opts": model_admin.opts,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(
        request, "admin/backoffice/list_action_confirm.html", context, status=400 if error else 200
    )
