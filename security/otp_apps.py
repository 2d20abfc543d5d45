"""django-otp's device apps under names staff understand (the admin showed "OTP_STATIC")."""

from django_otp.plugins.otp_static.apps import DefaultConfig as StaticDefaultConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as TotpDefaultConfig


class RecoveryCodesConfig(StaticDefaultConfig):
    verbose_name = "Staff recovery codes"


class AuthenticatorAppsConfig(TotpDefaultConfig):
    verbose_name = "Staff authenticator apps"
