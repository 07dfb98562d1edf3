"""Baseline comparison: a regression needs a change larger than a minimum effect AND beyond noise.

The minimum latency effect scales with the endpoint: min_increase_pct of the baseline's value plus
min_increase_ms (a few ms of jitter touch every request, fast or slow), so a 3 ms route that doubles
is caught like a 300 ms one. Noise is judged from the runs' own variation over time: Locust's history
rows (with --csv-full-history every endpoint's ~10 s window percentiles and rps, each second) are
sampled every 10 s inside steady stages, giving one value per window; a one-sided Mann-Whitney rank
test (scipy) asks whether the current windows are higher (or, for rps, lower) than the baseline's.
Error ratios use Fisher's exact test on the counts. Too few windows, or too few requests to place a
percentile: said as a warning, never as a regression.
"""

from __future__ import annotations

import math

from swarmgate.analysis.checks import Check, Status, check
from swarmgate.analysis.rules import Rules

WINDOW_S = 10
COLUMNS = {"p50_ms": "50%", "p95_ms": "95%", "p99_ms": "99%", "rps": "Requests/s", "fps": "Failures/s"}
EXACT_MAX_ARRANGEMENTS = 13_000  # up to 8 windows against 8 (12,870 ways to split them): exact p-values


def mann_whitney_p(lower: list[float], higher: list[float]) -> float:
    """One-sided p-value that `higher` tends to exceed `lower`: scipy's Mann-Whitney U test.

    Exact while the pooled windows split in at most EXACT_MAX_ARRANGEMENTS ways (e.g. 8 and 8): without
    ties scipy's exact distribution of U, with ties (Locust's whole-ms buckets tie often) a permutation
    test over every split. Larger samples: the normal approximation with tie and continuity correction.
    """
    from scipy import stats  # a second to import: only when a comparison is made, not to draw a report

    if not len(lower) or not len(higher):
        return 1.0
    arrangements = math.comb(len(lower) + len(higher), len(lower))
    if arrangements > EXACT_MAX_ARRANGEMENTS:
        method = "asymptotic"
    elif len(set(lower) | set(higher)) == len(lower) + len(higher):
        method = "exact"
    else:
        method = stats.PermutationMethod(n_resamples=arrangements)  # every split: exact, no random draws
    p = float(stats.mannwhitneyu(higher, lower, alternative="greater", method=method).pvalue)
    return 1.0 if math.isnan(p) else p  # all windows tied: no evidence


def proportion_p(base_fail: int, base_n: int, fail: int, n: int) -> float:
    """One-sided p-value that the current failure ratio exceeds the baseline's: Fisher's exact test.

    scipy evaluates it from the hypergeometric tail, so it is exact at any count and takes well under a
    millisecond for millions of requests.
    """
    from scipy import stats

    if not base_n or not n:
        return 1.0
    table = [[fail, n - fail], [base_fail, base_n - base_fail]]
    return float(stats.fisher_exact(table, alternative="greater").pvalue)


def _effect(metric: str, now: float, before: float, rules: Rules) -> bool:
    """Whether a change in the direction that hurts is at least the minimum effect."""
    if metric == "error_ratio":
        return now - before >= rules.min_error_increase
    if metric == "rps":
        return before > 0 and (before - now) / before * 100 >= rules.min_rps_drop_pct
    return now - before >= rules.latency_effect(before)


def _evidence(metric: str, row: dict, base: dict, mine: list, theirs: list, rules: Rules) -> tuple[float, str]:
    """(one-sided p, '') for a change, or (1, why it cannot be told) with too few windows or requests."""
    if metric == "error_ratio":
        return proportion_p(base["failures"], base["requests"], row["failures"], row["requests"]), ""
    needed = rules.windows_needed()
    if len(mine) < needed or len(theirs) < needed:
        return 1.0, f"{needed}+ windows per run are needed to tell"
    if rules.too_few_to_place(metric, row["requests"], base["requests"]):
        fewest = min(row["requests"], base["requests"])
        return 1.0, (f"{fewest:g} requests are too few to place {metric[:3]} "
                     f"({rules.min_tail_requests:g}+ slower than it per run are needed)")  # fmt: skip
    return (mann_whitney_p(mine, theirs) if metric == "rps" else mann_whitney_p(theirs, mine)), ""


def judgment(effect: bool, short: str, p: float, rules: Rules) -> tuple[Status, str]:
    """(status, why) of one comparison: pass within the minimum effect, fail beyond it and beyond noise,
    warn when moved but within noise or when there is too little to tell (`short` says why)."""
    if not effect:
        return "pass", "within the minimum effect"
    if short:
        return "warn", f"moved beyond the minimum effect, but {short}"
    if p < rules.p_value:
        return "fail", f"regressed beyond the minimum effect and beyond noise (p = {p:.2g})"
    return "warn", f"moved beyond the minimum effect, but within run-to-run noise (p = {p:.2g})"


def regression_checks(current: list[dict], baseline: list[dict], windows: dict, base_windows: dict,
                      rules: Rules) -> list[Check]:  # fmt: skip
    """One check per endpoint present in both runs and metric compared."""
    base_rows = {(r["method"], r["name"]): r for r in baseline}
    checks = []
    for row in current:
        base = base_rows.get((row["method"], row["name"]))
        if base is None or not row["requests"] or not base["requests"]:
            continue
        label = f"{row['method'] + ' ' if row['method'] else ''}{row['name']}"
        # Throughput is compared for the whole run only: with a closed model, one slow route lowers every
        # route's request rate, so a per-endpoint rps drop is a consequence, not a regression of its own.
        metrics = ("p50_ms", "p95_ms", "p99_ms", "error_ratio") + (("rps",) if row["name"] == "Aggregated" else ())
        for metric in metrics:
            now, before = row.get(metric), base.get(metric)
            if now is None or before is None:
                continue
            key = (row["method"], row["name"], metric)
            effect = _effect(metric, now, before, rules)
            mine, theirs = windows.get(key, []), base_windows.get(key, [])
            p, short = _evidence(metric, row, base, mine, theirs, rules) if effect else (1.0, "")
            status, why = judgment(effect, short, p, rules)
            checks.append(check("regression", status, f"{label} {metric} {before:g} -> {now:g}: {why}",
                                method=row["method"], endpoint=row["name"], metric=metric, actual=now,
                                baseline=before))  # fmt: skip
    return checks
