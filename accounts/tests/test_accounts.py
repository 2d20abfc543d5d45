import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.factories import DEFAULT_PASSWORD

User = get_user_model()


@pytest.mark.django_db
def test_create_user_takes_email_and_password():
    user = User.objects.create_user(email="New@Example.com", password="pw-123456789")
    assert user.email == "new@example.com"
    assert user.check_password("pw-123456789")
    assert not user.is_staff


@pytest.mark.django_db
def test_create_superuser_makes_staff():
    user = User.objects.create_superuser(email="root@example.com", password="pw-123456789")
    assert user.is_staff and user.is_superuser


@pytest.mark.django_db
def test_signup_creates_an_account_and_signs_in(client):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "carol@example.com",
            "full_name": "Carol",
            "password1": "sturdy-pass-9931",
            "password2": "sturdy-pass-9931",
        },
    )
    assert response.status_code == 302
    assert client.get("/servers/").status_code == 200
    assert User.objects.filter(email="carol@example.com").exists()


@pytest.mark.django_db
def test_signup_with_a_taken_email_shows_a_field_error_and_creates_nothing(client, alice):
    response = client.post(
        "/accounts/signup/",
        {"email": "ALICE@example.com", "password1": "sturdy-pass-9931", "password2": "sturdy-pass-9931"},
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_login_with_email_and_password(client, alice):
    response = client.post("/accounts/login/", {"username": alice.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert client.get("/servers/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["Alice@Example.com", "ALICE@EXAMPLE.COM", " alice@example.com "])
def test_login_ignores_the_case_of_the_email(client, alice, typed):
    response = client.post("/accounts/login/", {"username": typed, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert client.get("/servers/").wsgi_request.user == alice


@pytest.mark.django_db
def test_login_with_a_wrong_password_says_so(client, alice):
    response = client.post("/accounts/login/", {"username": alice.email, "password": "nope"})
    assert response.status_code == 200
    assert "correct email" in response.content.decode().lower()


@pytest.mark.django_db
def test_password_reset_sends_a_link(client, alice):
    response = client.post("/accounts/password_reset/", {"email": alice.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "/accounts/reset/" in mail.outbox[0].body


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_creates_the_contract_accounts():
    call_command("seed_demo")
    call_command("seed_demo")
    from billing.models import HostingPlan

    assert set(HostingPlan.objects.filter(is_active=True).values_list("slug", flat=True)) >= {
        "g-4gb",
        "g-8gb",
        "g-16gb",
    }
    assert HostingPlan.objects.get(slug="g-8gb").price_paise == 224000
    assert User.objects.get(email="demo@example.com").check_password("demo-pass-123")
    assert User.objects.get(email="admin@example.com").is_superuser


@pytest.mark.django_db
def test_seed_demo_refuses_in_production_without_force(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo")
    call_command("seed_demo", "--force")
