"""Referral codes and attribution at sign-up."""

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import REFERRAL_CODE_ALPHABET, REFERRAL_CODE_LENGTH
from affiliates.models import Referral
from affiliates.services import referral_attribute, referrer_id_for

User = get_user_model()


@pytest.mark.django_db
def test_every_new_user_has_a_short_unguessable_code_of_their_own():
    users = [User.objects.create_user(email=f"u{n}@example.com", password="pw-123456789") for n in range(20)]
    codes = [user.referral_code for user in users]
    assert len(set(codes)) == 20
    assert all(len(code) == REFERRAL_CODE_LENGTH and set(code) <= set(REFERRAL_CODE_ALPHABET) for code in codes)


@pytest.mark.django_db
def test_a_code_never_changes_when_the_user_is_saved_again(alice):
    code = alice.referral_code
    alice.full_name = "Alice Renamed"
    alice.save()
    alice.refresh_from_db()
    assert alice.referral_code == code


@pytest.mark.django_db
def test_signup_attribution_records_the_codes_owner(alice, bob):
    referral = referral_attribute(bob, alice.referral_code)
    assert referral.referrer == alice and referral.code == alice.referral_code
    assert referrer_id_for(bob) == alice.pk


@pytest.mark.django_db
def test_the_code_is_matched_whatever_its_case_and_spaces(alice, bob):
    assert referral_attribute(bob, f" {alice.referral_code.upper()} ").referrer == alice


@pytest.mark.django_db
def test_the_first_referral_stands(alice, bob):
    carol = User.objects.create_user(email="carol@example.com", password="pw-123456789")
    assert referral_attribute(carol, alice.referral_code)
    assert referral_attribute(carol, bob.referral_code) is None
    assert Referral.objects.get(referred=carol).referrer == alice


@pytest.mark.django_db
def test_a_customers_own_code_refers_nobody(alice):
    assert referral_attribute(alice, alice.referral_code) is None
    assert not Referral.objects.exists()
    with pytest.raises(IntegrityError):  # and the database refuses it too
        Referral.objects.create(referred=alice, referrer=alice, code=alice.referral_code)


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["", None, "nosuchcode", "x" * 500, "a\x00b", 42])
def test_an_unknown_or_malformed_code_is_ignored_without_error(alice, code):
    assert referral_attribute(alice, code) is None
    assert not Referral.objects.exists()


@pytest.mark.django_db
def test_an_order_carries_the_buyers_referrer_and_a_stranger_has_none(alice, bob, carol, plan, fake_razorpay):
    from payments.services import order_create

    assert order_create(user=carol, plan=plan, billing_cycle_months=1).referrer == alice
    assert order_create(user=bob, plan=plan, billing_cycle_months=1).referrer is None


@pytest.mark.django_db(transaction=True)
def test_existing_users_are_given_codes_by_the_migration():
    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0001_initial")])  # before referral codes existed
    old_user = executor.loader.project_state([("accounts", "0001_initial")]).apps.get_model("accounts", "User")
    for n in range(3):
        old_user.objects.create(email=f"old{n}@example.com", password="!")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    codes = list(User.objects.values_list("referral_code", flat=True))
    assert len(codes) == 3 and len(set(codes)) == 3 and all(len(code) == REFERRAL_CODE_LENGTH for code in codes)
