"""Staff read model and field names in the admin: none may be a column name in disguise."""

import re

from django.apps import apps

# Abbreviations and units that read wrongly when Django derives a label from a column
# name ("Gst rate percent", "Ip address", "Price paise").
RAW = re.compile(r"(^|_)(gst|cgst|sgst|igst|gstin|ip|id|vcpu|gb|razorpay|paise|percent|sha256|api|ssh|otp|totp)(_|$)")
OURS = {
    "accounts", "affiliates", "alerts", "billing", "core", "lifecycle", "outbox", "security", "servers", "sshkeys", "support",
}  # fmt: skip


def test_every_field_whose_column_name_holds_an_abbreviation_or_unit_has_a_human_label():
    raw = [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        if model._meta.app_label in OURS
        for field in model._meta.get_fields()
        if hasattr(field, "verbose_name") and not field.auto_created and field.model is model
        if str(field.verbose_name) == field.name.replace("_", " ") and RAW.search(field.name)
    ]
    assert raw == []


def test_model_names_read_as_english_in_the_singular_and_the_plural():
    from sshkeys.models import OrderSSHKey

    assert (OrderSSHKey._meta.verbose_name, OrderSSHKey._meta.verbose_name_plural) == (
        "SSH key of an order",
        "SSH keys of orders",
    )


def test_the_second_factor_apps_have_names_staff_understand():
    assert apps.get_app_config("otp_static").verbose_name == "Staff recovery codes"
    assert apps.get_app_config("otp_totp").verbose_name == "Staff authenticator apps"
