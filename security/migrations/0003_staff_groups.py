"""Staff groups "support" and "billing": what each role needs, nothing more. Staff get
is_staff (which opens the admin and nothing else) plus one of these groups; superusers
are for the few who administer the portal itself. Permissions are listed here as they
were when the groups were made; later changes come in later migrations."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = {
    # Answer customers: read their tickets, orders and servers for context; reply, write
    # internal notes; revoke a leaked API token. No money, no machines.
    "support": [
        "support.view_ticket",
        "support.change_ticket",
        "support.reply_ticket",
        "support.internal_note_ticket",
        "support.view_ticketmessage",
        "support.view_ticketattachment",
        "support.view_ticketevent",
        "accounts.view_user",
        "accounts.view_apitoken",
        "accounts.delete_apitoken",
        "billing.view_order",
        "billing.view_hostingplan",
        "servers.view_server",
    ],
    # Money and the orders behind it: refunds, flagged orders, recovery of paid orders.
    "billing": [
        "billing.view_order",
        "billing.refund_order",
        "billing.mark_order_handled",
        "billing.view_payment",
        "billing.view_refund",
        "billing.view_hostingplan",
        "billing.view_webhookevent",
        "accounts.view_user",
        "servers.view_server",
        "servers.requeue_server",
        "security.view_staffaction",
    ],
}


def groups_grant(apps):
    """Create the groups with their permissions (which must exist); re-runnable."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for label in codenames:
            app_label, codename = label.split(".")
            # .get(): a permission missing here is a mistake in this list, not something to skip.
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def groups_create(apps, schema_editor):
    # Permissions are normally made after all migrations ran; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    groups_grant(apps)


def groups_remove(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("security", "0002_staff_action_without_target"),
        ("accounts", "0004_api_tokens"),
        ("billing", "0007_order_mark_handled_permission"),
        ("servers", "0005_server_requeue_permission"),
        ("support", "0003_ticket_staff_permissions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(groups_create, groups_remove)]
