"""CONTRACT "Accounts, more": only a superuser changes a superuser's or another staff member's password,
email, active flag, groups or permissions. A help-desk account with `accounts.change_user` serves customers;
it must not be able to take over the superuser (set their password or email, or lock them out)."""

import pytest
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import Group, Permission

from accounts.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-pass-phrase-7"


@pytest.fixture(autouse=True)
def _no_second_factor(settings):
    settings.STAFF_2FA_REQUIRED = False


@pytest.fixture
def help_desk(db):
    """Staff who may view and edit users, and nothing more."""
    user = UserFactory(email="helpdesk@example.com", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_user", "change_user", "delete_user"]))
    return user


@pytest.fixture
def colleague(db):
    return UserFactory(email="colleague@example.com", is_staff=True)


def change_data(user, **overrides):
    """What the admin change form posts for `user`, with `overrides`."""
    data = {
        "email": user.email, "full_name": user.full_name, "billing_name": "", "billing_address": "",
        "billing_state": user.billing_state, "gstin": "",
        "last_login_0": "", "last_login_1": "", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
    }  # fmt: skip
    if user.is_active:
        data["is_active"] = "on"
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.mark.parametrize("target_name", ["staff", "colleague"])
def test_help_desk_sees_a_superusers_or_colleagues_email_active_flag_and_password_read_only(
    client, help_desk, staff, colleague, target_name
):
    target = {"staff": staff, "colleague": colleague}[target_name]
    client.force_login(help_desk)
    page = client.get(f"/admin/accounts/user/{target.pk}/change/")
    assert page.status_code == 200
    for name in ("email", "is_active", "is_superuser", "groups", "user_permissions"):
        assert f'name="{name}"' not in page.text, name
    assert "../password/" not in page.text and "Only a superuser can change" in page.text


@pytest.mark.parametrize("target_name", ["staff", "colleague"])
def test_help_desk_cannot_change_a_superusers_or_colleagues_email_or_active_flag(
    client, help_desk, staff, colleague, target_name
):
    target = {"staff": staff, "colleague": colleague}[target_name]
    client.force_login(help_desk)
    client.post(
        f"/admin/accounts/user/{target.pk}/change/",
        change_data(target, email="attacker@example.com", is_active=None, full_name="Renamed"),
    )
    target.refresh_from_db()
    assert (target.email, target.is_active) == (f"{target_name}@example.com", True)


@pytest.mark.parametrize("target_name", ["staff", "colleague"])
def test_help_desk_cannot_set_a_superusers_or_colleagues_password(client, help_desk, staff, colleague, target_name):
    target = {"staff": staff, "colleague": colleague}[target_name]
    client.force_login(help_desk)
    url = f"/admin/accounts/user/{target.pk}/password/"
    assert client.get(url).status_code == 403
    body = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    assert client.post(url, body).status_code == 403
    target.refresh_from_db()
    assert check_password(DEFAULT_PASSWORD, target.password)


def test_help_desk_cannot_delete_a_superuser(client, help_desk, staff):
    client.force_login(help_desk)
    assert client.post(f"/admin/accounts/user/{staff.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post("/admin/accounts/user/", {"action": "delete_selected", "_selected_action": [staff.pk], "post": "yes"})
    assert type(staff).objects.filter(pk=staff.pk, is_superuser=True).exists()


def test_help_desk_still_serves_customers_email_active_flag_and_password(client, help_desk, alice):
    client.force_login(help_desk)
    page = client.get(f"/admin/accounts/user/{alice.pk}/change/")
    assert 'name="email"' in page.text and 'name="is_active"' in page.text
    response = client.post(
        f"/admin/accounts/user/{alice.pk}/change/", change_data(alice, email="alice.new@example.com", is_active=None)
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.email, alice.is_active) == ("alice.new@example.com", False)
    body = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    assert client.post(f"/admin/accounts/user/{alice.pk}/password/", body).status_code == 302
    alice.refresh_from_db()
    assert check_password(NEW_PASSWORD, alice.password)


def test_a_superuser_changes_another_superusers_email_password_and_groups(client, staff):
    other = UserFactory(email="root2@example.com", is_staff=True, is_superuser=True)
    group = Group.objects.create(name="Support")
    client.force_login(staff)
    response = client.post(
        f"/admin/accounts/user/{other.pk}/change/",
        change_data(other, email="root3@example.com", is_staff="on", is_superuser="on", groups=[group.pk]),
    )
    assert response.status_code == 302
    body = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    assert client.post(f"/admin/accounts/user/{other.pk}/password/", body).status_code == 302
    other.refresh_from_db()
    assert other.email == "root3@example.com" and check_password(NEW_PASSWORD, other.password)
    assert list(other.groups.all()) == [group]
