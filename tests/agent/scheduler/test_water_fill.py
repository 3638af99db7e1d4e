"""Water-filling fair share: deserved first, then spare capacity by weight, within limits."""

from __future__ import annotations

import pytest

from agent.scheduler.plugins.water_fill import Claim, water_fill


def claim(deserved: float = 0, weight: float = 1, limit: float = -1, demand: float = 100) -> Claim:
    return Claim(deserved=deserved, weight=weight, limit=limit, demand=demand)


def test_deserved_quota_comes_first_and_the_rest_goes_by_weight() -> None:
    shares = water_fill(10, [claim(deserved=2, weight=1), claim(deserved=0, weight=3)])

    assert shares == pytest.approx([4, 6])


def test_no_one_gets_more_than_it_wants_and_the_surplus_flows_on() -> None:
    shares = water_fill(12, [claim(demand=1), claim(demand=100), claim(demand=100)])

    assert shares == pytest.approx([1, 5.5, 5.5])


def test_a_limit_caps_the_share_and_frees_the_rest() -> None:
    shares = water_fill(8, [claim(limit=2), claim()])

    assert shares == pytest.approx([2, 6])


def test_deserved_quota_is_not_given_beyond_demand() -> None:
    shares = water_fill(8, [claim(deserved=6, demand=1), claim(deserved=2, demand=100)])

    assert shares == pytest.approx([1, 7])


def test_zero_weight_gets_only_its_deserved_quota() -> None:
    shares = water_fill(8, [claim(deserved=1, weight=0), claim(weight=1)])

    assert shares == pytest.approx([1, 7])


def test_promises_beyond_capacity_are_scaled_down_evenly() -> None:
    shares = water_fill(4, [claim(deserved=4), claim(deserved=4)])

    assert shares == pytest.approx([2, 2])


def test_capacity_nobody_wants_stays_unassigned() -> None:
    shares = water_fill(10, [claim(demand=1), claim(demand=2)])

    assert shares == pytest.approx([1, 2])


def test_fractional_quotas_are_kept() -> None:
    shares = water_fill(1, [claim(deserved=0.5, weight=0), claim(deserved=0.5, weight=0)])

    assert shares == pytest.approx([0.5, 0.5])


def test_several_rounds_of_capping_settle() -> None:
    shares = water_fill(100, [claim(demand=5), claim(limit=10), claim(weight=2), claim(weight=2, demand=30)])

    assert shares == pytest.approx([5, 10, 55, 30])
    assert sum(shares) == pytest.approx(100)
