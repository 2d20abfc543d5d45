"""The admin refund's fresh code must not be spent by a refused amount
(35bf223 says "a refused amount does not spend the code"). An amount above what
is left is typed on the same page as the code, and was refused only after the code
has been checked, so the staff member's corrected retry with the same code fails."""

import time

import pytest

from billing.models import Refund

from .test_refund_admin_second_factor import boss, code_at, page_messages, paid_order, refund_action  # noqa: F401


@pytest.mark.django_db
def test_an_amount_above_what_is_left_does_not_spend_the_code(boss, paid_order, fake_razorpay):  # noqa: F811
    code = code_at(boss.device, time.time())
    too_much = refund_action(boss, [paid_order], apply="1", reason="Goodwill", amount="999999", otp_code=code)
    assert any("left to refund" in message for message in page_messages(too_much))
    assert not Refund.objects.exists()

    # The same code, with the amount corrected a few seconds later.
    again = refund_action(boss, [paid_order], apply="1", reason="Goodwill", amount="100", otp_code=code)
    assert Refund.objects.filter(amount_paise=10000).count() == 1, page_messages(again)
