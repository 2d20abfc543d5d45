import ast
import inspect

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing import pricing
from billing.models import HostingPlan


def make_plan(price_paise, d3=0, d6=0, d12=0):
    return HostingPlan(
        price_paise=price_paise, discount_3m_percent=d3, discount_6m_percent=d6, discount_12m_percent=d12
    )


def test_the_contract_example():
    q = pricing.quote(make_plan(224000), 1, gst_rate_percent=18)
    assert (q.subtotal_paise, q.tax_paise, q.total_paise) == (224000, 40320, 264320)


def test_tax_rounds_half_up_to_the_paisa():
    # 18% of 25 paise is 4.5 paise -> 5; 18% of 24 paise is 4.32 -> 4
    assert pricing.quote(make_plan(25), 1, gst_rate_percent=18).tax_paise == 5
    assert pricing.quote(make_plan(24), 1, gst_rate_percent=18).tax_paise == 4


def test_cycle_discount_applies_to_the_subtotal_before_tax():
    q = pricing.quote(make_plan(112000, d12=10), 12, gst_rate_percent=18)
    assert q.gross_paise == 1344000
    assert q.discount_paise == 134400
    assert q.subtotal_paise == 1209600
    assert q.tax_paise == 217728


def test_an_unknown_cycle_is_refused():
    with pytest.raises(pricing.PricingError):
        pricing.quote(make_plan(100), 2)


def test_a_float_price_is_refused():
    with pytest.raises(pricing.PricingError):
        pricing.quote(make_plan(100.5), 1)


def test_the_pricing_module_has_no_float_literal_or_float_call():
    tree = ast.parse(inspect.getsource(pricing))
    for node in ast.walk(tree):
        assert not (isinstance(node, ast.Constant) and isinstance(node.value, float))
        assert not (isinstance(node, ast.Name) and node.id in ("float", "round"))


@given(
    price=st.integers(min_value=0, max_value=10**10),
    months=st.sampled_from([1, 3, 6, 12]),
    rate=st.integers(min_value=0, max_value=40),
    discounts=st.tuples(*[st.integers(min_value=0, max_value=90)] * 3),
)
def test_quotes_are_integers_that_add_up_and_round_half_up(price, months, rate, discounts):
    q = pricing.quote(make_plan(price, *discounts), months, gst_rate_percent=rate)
    for value in (q.gross_paise, q.discount_paise, q.subtotal_paise, q.tax_paise, q.total_paise):
        assert type(value) is int and value >= 0
    assert q.total_paise == q.subtotal_paise + q.tax_paise
    assert q.subtotal_paise == q.gross_paise - q.discount_paise
    # half-up: the exact tax (subtotal*rate/100) is within half a paisa, ties go up
    exact_times_100 = q.subtotal_paise * rate
    assert 100 * q.tax_paise - 50 <= exact_times_100 < 100 * q.tax_paise + 50


@given(tax=st.integers(min_value=0, max_value=10**9), intra=st.booleans())
def test_gst_lines_add_up_to_the_tax_exactly(tax, intra):
    lines = pricing.split_gst(tax, intra)
    assert sum(lines.values()) == tax
    assert all(type(v) is int and v >= 0 for v in lines.values())
