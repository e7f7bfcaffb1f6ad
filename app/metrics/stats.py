"""A/B statistics as pure functions (no scipy): Wilson intervals, difference of proportions,
Mann-Whitney U with the normal approximation, two-proportion sample size, and a verdict."""
from __future__ import annotations

import math

Z95 = 1.959963984540054     # two-sided 95 %
Z80 = 0.8416212335729143    # one-sided 80 % power


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def normal_ppf(p: float) -> float:
    """Inverse of the standard normal CDF by bisection (precise to ~1e-12)."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must be in (0, 1)")
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if normal_cdf(mid) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float, float] | None:
    """(rate, low, high) with the Wilson score interval; None when n == 0."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return p, max(0.0, centre - half), min(1.0, centre + half)


def diff_proportions(s1: int, n1: int, s2: int, n2: int, z: float = Z95) -> dict | None:
    """p2 - p1 with its Wald interval (unpooled SE) and the pooled two-sided z-test p-value."""
    if n1 <= 0 or n2 <= 0:
        return None
    p1, p2 = s1 / n1, s2 / n2
    diff = p2 - p1
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    pooled = (s1 + s2) / (n1 + n2)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p_value = 1.0 if se0 == 0 else 2 * (1 - normal_cdf(abs(diff) / se0))
    return {"diff": diff, "low": diff - z * se, "high": diff + z * se, "margin": z * se, "p_value": p_value,
            "significant": (diff - z * se > 0) or (diff + z * se < 0)}


def mann_whitney(n1: int, n2: int, rank_sum1: float, tie_term: float = 0.0) -> dict | None:
    """Mann-Whitney U from group 1's rank sum (average ranks for ties) over the pooled sample.
    tie_term = sum(t^3 - t) over groups of tied values. Normal approximation with tie correction
    and continuity correction; two-sided p-value."""
    if n1 <= 0 or n2 <= 0:
        return None
    u1 = rank_sum1 - n1 * (n1 + 1) / 2
    u2 = n1 * n2 - u1
    n = n1 + n2
    mu = n1 * n2 / 2
    var = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))) if n > 1 else 0.0
    if var <= 0:
        return {"u1": u1, "u2": u2, "z": 0.0, "p_value": 1.0}
    z = (abs(u1 - mu) - 0.5) / math.sqrt(var)
    z = max(z, 0.0)
    return {"u1": u1, "u2": u2, "z": z if u1 >= mu else -z, "p_value": min(1.0, 2 * (1 - normal_cdf(z)))}


def mann_whitney_samples(a: list[float], b: list[float]) -> dict | None:
    """Reference implementation on raw samples (tests, small data): ranks computed here."""
    pooled = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    ranks: list[float] = [0.0] * len(pooled)
    tie_term = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        t = j - i + 1
        tie_term += t ** 3 - t
        for k in range(i, j + 1):
            ranks[k] = (i + j + 2) / 2
        i = j + 1
    r1 = sum(r for r, (_, g) in zip(ranks, pooled) if g == 0)
    return mann_whitney(len(a), len(b), r1, tie_term)


def rank_sums_from_hist(a: dict[int, int], b: dict[int, int]) -> dict:
    """Mann-Whitney inputs (as variants.rank_sums gives them) from two histograms over the same buckets
    (the rollup's log buckets): each bucket is one group of tied values."""
    r1 = ties = 0.0
    below = 0
    for k in sorted(set(a) | set(b)):
        x, y = a.get(k, 0), b.get(k, 0)
        t = x + y
        if t:
            r1 += x * (below + (t + 1) / 2)
            ties += t ** 3 - t
            below += t
    return {"n1": sum(a.values()), "n2": sum(b.values()), "rank_sum1": r1, "tie_term": ties}


def sample_size_per_group(p1: float, p2: float, z_alpha: float = Z95, z_beta: float = Z80) -> int | None:
    """Tasks needed per variant to detect p1 vs p2 (two-sided alpha 5 %, power 80 %)."""
    if p1 == p2:
        return None
    pbar = (p1 + p2) / 2
    num = (z_alpha * math.sqrt(2 * pbar * (1 - pbar)) + z_beta * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2
    return math.ceil(num / (p1 - p2) ** 2)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def verdict(base_name: str, other_name: str, base: dict, other: dict) -> dict:
    """Plain-language comparison of `other` against `base`. Each dict: completed, finished (completed +
    routed away), lead_p50 (seconds or None); plus 'mw' (mann_whitney result or None) on `other`."""
    s1, n1, s2, n2 = base["completed"], base["finished"], other["completed"], other["finished"]
    parts: list[str] = []
    more_needed = None
    d = diff_proportions(s1, n1, s2, n2)
    if d is None:
        parts.append(f"not enough finished Tasks yet to compare {other_name} with {base_name}")
    else:
        pts, margin = round(d["diff"] * 100), round(d["margin"] * 100)
        if d["significant"]:
            word = "more" if d["diff"] > 0 else "less"
            parts.append(f"{other_name} completes {abs(pts)} ± {margin} points {word} often than {base_name}")
        else:
            parts.append(f"{other_name} completes {pts:+d} ± {margin} points vs {base_name}, no clear difference yet")
        need = sample_size_per_group(s1 / n1, s2 / n2)
        if need is not None:
            more_needed = max(0, need - n1) + max(0, need - n2)
    mw = other.get("mw")
    if mw is None:
        parts.append("lead time not comparable yet")
    elif mw["p_value"] < 0.05:
        faster = (other.get("lead_p50") or 0) < (base.get("lead_p50") or 0)
        parts.append(f"lead time is {'shorter' if faster else 'longer'} (median {_duration(other.get('lead_p50'))} "
                     f"vs {_duration(base.get('lead_p50'))}, {_p(mw['p_value'])})")
    else:
        parts.append("lead time no different yet")
    if more_needed:
        parts.append(f"{more_needed} more Tasks needed for 95 % confidence")
    elif d is not None and more_needed == 0 and not d["significant"]:
        parts.append("enough Tasks for 95 % confidence at this effect size")
    text = "; ".join(parts)
    return {"text": text[0].upper() + text[1:] + ".", "more_tasks_needed": more_needed, "diff": d}
