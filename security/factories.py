from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice


def verified_staff_login(client, user):
    """Sign `user` in on the test client with a session already verified by a TOTP device
    (created if they have none), as after passing /accounts/2fa/. For tests of admin pages
    with STAFF_2FA_REQUIRED on. Returns the device."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    device = device or TOTPDevice.objects.create(user=user, name="test phone", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def staff_groups():
    """The "support" and "billing" groups as migration security.0003 made them. A test
    database flushed by a transactional test loses rows that migrations wrote; this puts
    them back (the permissions themselves are recreated by Django after each flush)."""
    from importlib import import_module

    from django.apps import apps

    import_module("security.migrations.0003_staff_groups").groups_grant(apps)
