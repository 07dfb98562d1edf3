"""The series a report draws: one history read, at most MAX_POINTS points, spikes kept, counts kept."""

from __future__ import annotations

import csv
import shutil

from swarmgate.analysis.history_stream import MAX_POINTS, read_history
from swarmgate.analysis.load import load_run
from swarmgate.analysis.series import distribution
from tests.helpers import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "smoke_run"
HEADER = ["Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s", "50%", "66%", "75%", "80%", "90%",
          "95%", "98%", "99%", "99.9%", "99.99%", "100%", "Total Request Count", "Total Failure Count",
          "Total Median Response Time", "Total Average Response Time", "Total Min Response Time",
          "Total Max Response Time", "Total Average Content Size"]  # fmt: skip


def write_history(path, seconds: int, spike_at: int) -> None:
    """Two rows a second (one endpoint and Aggregated): rps 10, p95 20 ms but 900 ms for one second."""
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for i in range(seconds):
            p95 = 900 if i == spike_at else 20
            for method, name in (("GET", "/a"), ("", "Aggregated")):
                out.writerow([1_790_000_000 + i, 5, method, name, 10, 0.5 if i % 2 else 0, 10, 11, 12, 13, 15, p95,
                              p95, p95, p95, p95, p95, i * 10, 0, 10, 11, 1, 900, 100])  # fmt: skip


def test_a_long_history_is_cut_to_max_points_with_spikes_kept_and_rates_averaged(tmp_path):
    path = tmp_path / "locust_stats_history.csv"
    write_history(path, seconds=3 * 3600, spike_at=5000)
    found = read_history(path, []).timeline
    assert found["step_s"] == 18 and len(found["t"]) <= MAX_POINTS
    endpoint, aggregated = sorted(found["endpoints"], key=lambda e: e["name"] != "/a")
    assert endpoint["name"] == "/a" and aggregated["name"] == "Aggregated" and aggregated["method"] == ""
    assert max(endpoint["p95_ms"]) == 900  # the one-second spike survives the cut
    assert endpoint["p95_ms"].count(900) == 1
    assert set(endpoint["rps"]) == {10}
    assert set(endpoint["fps"]) == {0.25}  # 0.5 every other second, averaged
    assert set(found["users"]) == {5}


def test_a_short_history_keeps_every_second(tmp_path):
    path = tmp_path / "locust_stats_history.csv"
    write_history(path, seconds=30, spike_at=3)
    found = read_history(path, []).timeline
    assert found["step_s"] == 1 and found["t"] == list(range(30))
    assert read_history(tmp_path / "missing.csv", []) is None


def test_the_distribution_holds_every_timed_request_in_its_band(tmp_path):
    shutil.copytree(FIXTURE, tmp_path / "run")
    run = load_run(tmp_path / "run")
    (found,) = distribution(run)
    edges = found["edges_ms"]
    assert edges == sorted(set(edges)) and edges[0] == 0
    by_name = {(e["method"], e["name"]): e for e in found["endpoints"]}
    for endpoint in run.endpoints:
        counts = by_name[(endpoint.method, endpoint.name)]["counts"]
        assert sum(counts) == sum(endpoint.histogram.values())
        for bucket, count in endpoint.histogram.items():  # each bucket lands in the band that holds it
            band = next(i for i in range(len(edges) - 1) if edges[i] <= bucket < edges[i + 1])
            assert counts[band] >= count
    assert sum(found["endpoints"][0]["counts"]) == sum(sum(e.histogram.values()) for e in run.endpoints)
