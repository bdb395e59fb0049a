"""The bench's cost model (scripts/benchkit/cost.py) and its Lambda arithmetic
(lambda_mode.py): Cognito's bands, per-request prices, billed duration, the adjusted latency."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
from benchkit import cost  # noqa: E402
from benchkit.lambda_mode import Calls, billed_ms  # noqa: E402


def test_cognito_lite_is_free_to_ten_thousand_then_priced_by_band():
    assert cost.cognito_lite(10_000) == 0
    assert cost.cognito_lite(100_000) == pytest.approx(90_000 * 0.0055)
    assert cost.cognito_lite(200_000) == pytest.approx(90_000 * 0.0055 + 100_000 * 0.0046)


def test_cognito_essentials_charges_every_user_past_the_free_tier():
    assert cost.cognito_essentials(5_000) == 0
    assert cost.cognito_essentials(100_000) == pytest.approx(1_350)


def test_a_request_costs_its_parts():
    request = cost.RequestCost("x", memory_mb=1024, billed_ms=1000, read_units=2, write_units=4, log_bytes=650)
    assert request.lambda_duration() == pytest.approx(cost.LAMBDA_ARM_GB_SECOND)  # 1 GB for 1 s
    assert request.dynamodb() == pytest.approx((2 * 0.125 + 4 * 0.625) / 1e6)
    assert request.logs() == pytest.approx(1000 / 1e9 * 0.50)
    assert request.requests() == pytest.approx(1.20 / 1e6)
    assert request.total() == pytest.approx(sum(request.parts().values()))


def test_a_month_is_the_usage_of_each_user_plus_storage():
    costs = {label: cost.RequestCost(label, 128, 10, 1, 1, 0)
             for recipe in cost.actions().values() for label, _ in recipe}
    one_user = sum(cost.monthly(costs, 1).values())
    per_request = costs["logout"].total()
    storage = cost.STORED_BYTES_PER_USER / 1024 ** 3 * cost.DYNAMODB_GB_MONTH
    assert one_user == pytest.approx(cost.requests_per_user() * per_request + storage)


def test_lambda_bills_whole_milliseconds_rounded_up():
    assert billed_ms(0.2) == 1
    assert billed_ms(12.0) == 12
    assert billed_ms(12.01) == 13


def test_the_adjusted_latency_replaces_time_in_the_proxy_by_dynamodb_s():
    calls = Calls(calls=2, moto_ns=3_000_000, held_ns=9_000_000, handshakes=0, read_units=0, write_units=0)
    # 20 ms measured, 9 of them in the proxy; two calls of 2 ms round trip + 4 ms service.
    assert calls.adjusted_ns(20_000_000, rtt_ms=2) == 20_000_000 - 9_000_000 + 12_000_000
