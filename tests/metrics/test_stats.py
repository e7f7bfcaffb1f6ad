"""A/B statistics against known results; Wilson bounds recomputed here from the formula."""
from __future__ import annotations

import math

import pytest

from app.metrics import stats


def wilson_by_hand(s, n, z=1.96):
    p = s / n
    centre = p + z * z / (2 * n)
    rad = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    d = 1 + z * z / n
    return (centre - rad) / d, (centre + rad) / d


@pytest.mark.parametrize("s,n", [(20, 40), (30, 40), (0, 10), (10, 10), (7, 412)])
def test_wilson_matches_formula(s, n):
    p, lo, hi = stats.wilson(s, n)
    elo, ehi = wilson_by_hand(s, n)
    assert p == s / n
    assert lo == pytest.approx(max(0, elo), abs=1e-4) and hi == pytest.approx(min(1, ehi), abs=1e-4)


def test_wilson_known_values():
    # 50 % of 40: the textbook Wilson interval is 0.352 – 0.648
    _, lo, hi = stats.wilson(20, 40)
    assert (round(lo, 3), round(hi, 3)) == (0.352, 0.648)
    assert stats.wilson(0, 0) is None


def test_diff_of_proportions():
    d = stats.diff_proportions(20, 40, 30, 40)
    se = math.sqrt(0.5 * 0.5 / 40 + 0.75 * 0.25 / 40)
    assert d["diff"] == pytest.approx(0.25)
    assert d["low"] == pytest.approx(0.25 - 1.959964 * se, abs=1e-6)
    assert d["high"] == pytest.approx(0.25 + 1.959964 * se, abs=1e-6)
    assert d["significant"]
    # pooled z-test: z = .25 / sqrt(.625*.375*(2/40)) = 2.3094 → p = 0.0209
    assert d["p_value"] == pytest.approx(0.02092, abs=1e-4)
    assert not stats.diff_proportions(20, 40, 22, 40)["significant"]
    assert stats.diff_proportions(1, 0, 1, 1) is None


def test_mann_whitney_known_result():
    # fully separated samples of 5: U = 0, normal approx. with continuity: z = 12 / sqrt(22.9167), p = 0.01219
    r = stats.mann_whitney_samples([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    assert r["u1"] == 0 and r["u2"] == 25
    assert r["p_value"] == pytest.approx(0.012185, abs=1e-5)
    same = stats.mann_whitney_samples([1, 2, 3], [1, 2, 3])
    assert same["p_value"] == pytest.approx(1.0)
    assert stats.mann_whitney(0, 3, 0) is None


def test_mann_whitney_tie_correction():
    # all values tied: no information, variance 0 → p = 1
    r = stats.mann_whitney_samples([5, 5], [5, 5, 5])
    assert r["p_value"] == 1.0


def test_sample_size_two_proportions():
    assert stats.sample_size_per_group(0.5, 0.6) == 388      # classic table value (alpha .05, power .8)
    assert stats.sample_size_per_group(0.5, 0.75) == 58
    assert stats.sample_size_per_group(0.3, 0.3) is None


def test_normal_ppf():
    assert stats.normal_ppf(0.975) == pytest.approx(stats.Z95, abs=1e-9)
    assert stats.normal_ppf(0.8) == pytest.approx(stats.Z80, abs=1e-9)


def test_verdict_significant_rate():
    v = stats.verdict("Intake", "Intake (new)", {"completed": 20, "finished": 40, "lead_p50": 3600},
                      {"completed": 30, "finished": 40, "lead_p50": 3000,
                       "mw": {"p_value": 0.4, "u1": 1, "u2": 1, "z": 0.8}})
    assert v["text"].startswith("Intake (new) completes 25 ± 20 points more often than Intake")
    assert "lead time no different yet" in v["text"]
    assert v["more_tasks_needed"] == (58 - 40) * 2
    assert "36 more Tasks needed for 95 % confidence" in v["text"]


def test_verdict_no_data():
    v = stats.verdict("A", "B", {"completed": 0, "finished": 0}, {"completed": 0, "finished": 0, "mw": None})
    assert v["text"].startswith("Not enough finished Tasks") and v["more_tasks_needed"] is None
