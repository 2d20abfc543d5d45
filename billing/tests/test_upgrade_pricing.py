"""The upgrade formula at its edges (CONTRACT: Plan changes):
subtotal = (P_new - P_old) x D_left / D_period, half-up once, calendar days in Asia/Kolkata."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from billing import pricing
from billing.models import HostingPlan

IST = ZoneInfo("Asia/Kolkata")
G4, G8 = HostingPlan(price_paise=112000), HostingPlan(price_paise=224000)


def at(year, month, day, hour=10):
    return datetime(year, month, day, hour, tzinfo=IST)


def upgrade(old=G4, new=G8, *, months=1, paid_until, today):
    return pricing.upgrade_quote(
        old, new, billing_cycle_months=months, paid_until=paid_until, today=today, gst_rate_percent=18
    )


def test_one_day_left_charges_one_day_of_the_difference():
    q = upgrade(paid_until=at(2026, 12, 31), today=date(2026, 12, 30))
    assert (q.days_left, q.period_days) == (1, 31)  # 30 Nov - 31 Dec
    assert (q.subtotal_paise, q.tax_paise, q.total_paise) == (3613, 650, 4263)  # 112000 / 31 = 3612.90


def test_the_last_day_itself_still_counts_as_one_day():
    q = upgrade(paid_until=at(2026, 12, 31), today=date(2026, 12, 31))
    assert (q.days_left, q.subtotal_paise) == (1, 3613)


def test_the_whole_period_left_charges_the_whole_difference():
    q = upgrade(paid_until=at(2026, 12, 31), today=date(2026, 11, 30))
    assert (q.days_left, q.period_days) == (31, 31)
    assert (q.subtotal_paise, q.tax_paise, q.total_paise) == (112000, 20160, 132160)
    assert (q.service_from, q.service_until) == (date(2026, 11, 30), date(2026, 12, 31))


def test_a_twelve_month_cycle_uses_both_plans_discounted_prices():
    old = HostingPlan(price_paise=112000, discount_12m_percent=10)
    new = HostingPlan(price_paise=224000, discount_12m_percent=10)
    q = upgrade(old, new, months=12, paid_until=at(2027, 6, 15), today=date(2026, 12, 12))
    assert (q.old_period_paise, q.new_period_paise) == (1209600, 2419200)
    assert (q.days_left, q.period_days) == (185, 365)
    assert q.subtotal_paise == 613085  # 1209600 x 185 / 365 = 613084.93
    assert q.tax_paise == 110355  # 18 % of 613085 = 110355.3


def test_a_period_from_31_january_ends_28_february_and_counts_back_from_it():
    # Paid on 31 January: paid_until is 28 February (clamped); the contract's period
    # runs from paid_until less one month (28 January), so it has 31 days.
    q = upgrade(paid_until=at(2027, 2, 28), today=date(2027, 1, 31))
    assert (q.days_left, q.period_days) == (28, 31)
    assert q.subtotal_paise == 101161  # 112000 x 28 / 31 = 101161.29


def test_the_last_day_of_february_in_a_leap_year():
    q = upgrade(paid_until=at(2028, 3, 29), today=date(2028, 2, 29))
    assert (q.days_left, q.period_days) == (29, 29)  # 29 Feb - 29 Mar 2028
    assert q.subtotal_paise == 112000
    q = upgrade(paid_until=at(2028, 2, 29), today=date(2028, 2, 28))
    assert (q.days_left, q.period_days) == (1, 31)  # 29 Jan - 29 Feb 2028


def test_a_period_begun_before_a_price_change_is_priced_at_the_current_prices():
    dearer_g4 = HostingPlan(price_paise=120000)  # G.4GB's price went up after the period began
    q = upgrade(dearer_g4, G8, paid_until=at(2026, 12, 31), today=date(2026, 11, 30))
    assert (q.old_period_paise, q.subtotal_paise) == (120000, 104000)


def test_the_division_rounds_half_up_once():
    q = upgrade(
        HostingPlan(price_paise=100), HostingPlan(price_paise=101), paid_until=at(2027, 5, 1), today=date(2027, 4, 16)
    )
    assert (q.days_left, q.period_days, q.subtotal_paise) == (15, 30, 1)  # 0.5 paise -> 1


def test_days_are_counted_in_the_portals_time_zone():
    # 20:00 UTC on 31 December is 01:30 on 1 January in India.
    q = upgrade(paid_until=datetime(2026, 12, 31, 20, 0, tzinfo=ZoneInfo("UTC")), today=date(2026, 12, 31))
    assert (q.service_until, q.days_left, q.period_days) == (date(2027, 1, 1), 1, 31)


def test_the_same_or_a_cheaper_plan_is_not_an_upgrade():
    for new in (G4, HostingPlan(price_paise=56000)):
        with pytest.raises(pricing.PricingError):
            upgrade(G4, new, paid_until=at(2026, 12, 31), today=date(2026, 12, 1))
