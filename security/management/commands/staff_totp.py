"""A lost phone: give a staff user a new confirmed TOTP device, replacing the old ones."""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.commands import JsonOutputMixin
from security.audit import staff_action_record
from security.second_factor import totp_device_replace, totp_secret


class Command(JsonOutputMixin, BaseCommand):
    help = "Give a staff user a new confirmed TOTP device (replacing the old ones) and print its secret."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--json", action="store_true", help='Print {"email", "secret", "otpauth_uri"}.')
        parser.add_argument("--reason", default="lost phone (staff_totp)", help="Recorded in the staff audit.")

    def handle(self, *args, email, **options):
        user = get_user_model().objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No user with email {email}.", returncode=2)
        if not user.is_staff:
            raise CommandError(f"{user.email} is not staff; only staff sign in with a second factor.", returncode=2)
        with transaction.atomic():
            device = totp_device_replace(user)
            staff_action_record("security.staff_totp", target=user, actor=None, via="command", reason=options["reason"])
        result = {"email": user.email, "secret": totp_secret(device), "otpauth_uri": device.config_url}
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(
            f"New authenticator for {user.email}; the old ones no longer work.\n"
            f"Secret (base32): {result['secret']}\nURI: {result['otpauth_uri']}\n"
            "Give it to them over a channel you trust; they can scan the URI as a QR code."
        )
