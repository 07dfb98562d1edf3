"""Baseline comparison: a regression needs a change larger than a minimum effect AND beyond noise.

Noise is judged from the runs' own variation over time: Locust's history rows (with
--csv-full-history every endpoint's ~10 s window percentiles and rps, each second) are sampled every
10 s inside steady stages, giving one value per window; a one-sided Mann-Whitney rank test asks
whether the current windows are higher (or, for rps, lower) than the baseline's. Error ratios use a
two-proportion test on the counts. Too few windows to tell: said as a warning, never as a regression.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from swarmgate.analysis.checks import Check, check

WINDOW_S = 10
MIN_WINDOWS = 4
COLUMNS = {"p50_ms": "50%", "p95_ms": "95%", "p99_ms": "99%", "rps": "Requests/s", "fps": "Failures/s"}


@dataclass(frozen=True)
class Rules:
    min_increase_pct: float = 10.0
    min_increase_ms: float = 20.0
    min_error_increase: float = 0.005
    min_rps_drop_pct: float = 10.0
    p_value: float = 0.01

    def latency_effect(self, before: float) -> float:
        """The smallest latency rise that matters: min_increase_ms, or min_increase_pct of `before` if larger."""
        return max(self.min_increase_ms, abs(before) * self.min_increase_pct / 100)


def read_history(path: Path, extra_columns: tuple[str, ...] = ()) -> pd.DataFrame | None:
    """A --csv-full-history file, only the columns needed (a 24-hour soak has millions of rows), or None."""
    if not path.is_file():
        return None
    columns = {"Timestamp", "Type", "Name", *COLUMNS.values(), *extra_columns}
    try:
        frame = pd.read_csv(path, usecols=lambda c: c in columns, na_values=["N/A"], keep_default_na=False,
                            dtype={"Type": "category", "Name": "category"})  # fmt: skip
    except (ValueError, pd.errors.ParserError):
        return None
    if "Timestamp" not in frame or "Type" not in frame or "Name" not in frame:
        return None
    if "" not in frame["Type"].cat.categories:
        frame["Type"] = frame["Type"].cat.add_categories("")
    frame["Type"] = frame["Type"].fillna("")  # the Aggregated row has no method
    return frame


def history_windows(
    history: Path | pd.DataFrame | None, spans: list[tuple[float, float]], with_times: bool = False
) -> dict[tuple[str, str, str], list]:
    """{(method, name, metric): one value per 10 s window} from a --csv-full-history file (or its frame).

    A window is used only when it lies wholly inside a span (a steady stage), so ramps never mix in;
    rows reading N/A or 0 before Locust's window has filled are skipped.
    """
    found: dict[tuple[str, str, str], list] = {}
    frame = read_history(history) if isinstance(history, Path) else history
    if frame is None:
        return found
    stamp = pd.to_numeric(frame["Timestamp"], errors="coerce")
    keep = stamp % WINDOW_S == 0
    if spans:
        inside = pd.Series(False, index=frame.index)
        for start, end in spans:
            inside |= (stamp >= start + WINDOW_S) & (stamp <= end)
        keep &= inside
    frame = frame[keep].assign(Timestamp=stamp[keep])
    for metric, column in COLUMNS.items():
        if column not in frame:
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        usable = values.notna() & ((values > 0) if metric not in ("rps", "fps") else True)
        subset = frame.loc[usable, ["Timestamp", "Type", "Name"]].assign(value=values[usable])
        for (method, name), group in subset.groupby(["Type", "Name"], sort=False, observed=True):
            pairs = zip(group["Timestamp"].tolist(), group["value"].tolist(), strict=True)
            found[(method, name, metric)] = list(pairs) if with_times else group["value"].tolist()
    return found


def mann_whitney_p(lower: list[float], higher: list[float]) -> float:
    """One-sided p-value that `higher` tends to exceed `lower` (normal approximation, ties averaged)."""
    n1, n2 = len(lower), len(higher)
    ranked = sorted([(v, 0) for v in lower] + [(v, 1) for v in higher])
    ranks = [0.0] * len(ranked)
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        i = j + 1
    u = sum(r for r, (_, group) in zip(ranks, ranked, strict=True) if group == 1) - n2 * (n2 + 1) / 2
    ties = {}
    for value, _ in ranked:
        ties[value] = ties.get(value, 0) + 1
    n = n1 + n2
    variance = n1 * n2 / 12 * ((n + 1) - sum(t**3 - t for t in ties.values()) / (n * (n - 1)))
    if variance <= 0:
        return 1.0
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(variance)
    return 0.5 * math.erfc(z / math.sqrt(2))


def proportion_p(base_fail: int, base_n: int, fail: int, n: int) -> float:
    """One-sided p-value that the current failure ratio exceeds the baseline's."""
    if not base_n or not n:
        return 1.0
    pooled = (base_fail + fail) / (base_n + n)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / base_n + 1 / n))
    if spread == 0:
        return 1.0
    z = (fail / n - base_fail / base_n) / spread
    return 0.5 * math.erfc(z / math.sqrt(2))


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
            if metric == "error_ratio":
                effect = now - before >= rules.min_error_increase
                p = proportion_p(base["failures"], base["requests"], row["failures"], row["requests"])
                enough = True
            else:
                key = (row["method"], row["name"], "rps" if metric == "rps" else metric)
                mine, theirs = windows.get(key, []), base_windows.get(key, [])
                enough = len(mine) >= MIN_WINDOWS and len(theirs) >= MIN_WINDOWS
                if metric == "rps":
                    effect = before > 0 and (before - now) / before * 100 >= rules.min_rps_drop_pct
                    p = mann_whitney_p(mine, theirs) if enough else 1.0
                else:
                    effect = now - before >= rules.latency_effect(before)
                    p = mann_whitney_p(theirs, mine) if enough else 1.0
            regressed = effect and enough and p < rules.p_value
            status = "fail" if regressed else "warn" if effect else "pass"
            if regressed:
                why = f"regressed beyond the minimum effect and beyond noise (p = {p:.2g})"
            elif effect and not enough:
                why = f"moved beyond the minimum effect, but {MIN_WINDOWS}+ windows per run are needed to tell"
            elif effect:
                why = f"moved beyond the minimum effect, but within run-to-run noise (p = {p:.2g})"
            else:
                why = "within the minimum effect"
            checks.append(check("regression", status, f"{label} {metric} {before:g} -> {now:g}: {why}",
                                method=row["method"], endpoint=row["name"], metric=metric, actual=now,
                                baseline=before))  # fmt: skip
    return checks
