import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.factories import DEFAULT_PASSWORD, UserFactory
from outbox.models import OutboundMail

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-pass-phrase-7"


def test_a_password_change_does_not_put_the_password_hash_in_the_admin_readable_outbox(alice, settings):
    settings.STAFF_2FA_REQUIRED = False  # only to read the admin page in this test
    here = Client()
    here.post("/accounts/login/", {"username": alice.email, "password": DEFAULT_PASSWORD})
    change = {"old_password": DEFAULT_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert here.post("/accounts/password_change/", change).status_code == 302
    alice.refresh_from_db()
    password_hash = alice.password
    clerk = UserFactory(email="clerk@example.com", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_outboundmail"))
    staff = Client()
    staff.force_login(clerk)
    page = staff.get("/admin/outbox/outboundmail/").content.decode()
    keys = list(OutboundMail.objects.values_list("cause_key", flat=True))
    assert not any(password_hash in key for key in keys), keys
    assert password_hash.split("$")[-1] not in page
