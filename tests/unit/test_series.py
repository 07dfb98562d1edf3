"""The series a report draws: one history read, at most MAX_POINTS points, spikes kept, counts kept."""

from __future__ import annotations

import csv
import shutil

from swarmgate.analysis.history_stream import MAX_POINTS, read_history, small_files
from swarmgate.analysis.load import load_run
from swarmgate.analysis.series import distribution, resources
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


def resource_rows(seconds: int) -> list[list]:
    """Two processes sampled each second; the target's CPU and memory move with time, the master's stay."""
    found = []
    for i in range(seconds):
        found.append([1_790_000_000 + i, "target", "target", 1, i % 7, (100 + i) * 1e6])
        found.append([1_790_000_000 + i, "master", "master", 2, 50, 80e6])
    return found


def expected_resources(table: list[list], start: float, step: int) -> list[dict]:
    """Per process and step-second point: the mean CPU and the highest MB, worked out row by row."""
    points: dict = {}
    for stamp, role, node, _, cpu, rss in table:
        points.setdefault((role, node), {}).setdefault(int((stamp - start) // step), []).append((cpu, rss / 1e6))
    return [{"role": role, "node": node, "start": start, "t": [p * step for p in sorted(mine)],
             "cpu_percent": [round(sum(c for c, _ in mine[p]) / len(mine[p]), 1) for p in sorted(mine)],
             "rss_mb": [round(max(m for _, m in mine[p]), 1) for p in sorted(mine)]}
            for (role, node), mine in sorted(points.items())]  # fmt: skip


def write_resource_rows(path, table: list[list], head: str = "", tail: str = "") -> None:
    """resources.csv with these rows, after its header: `head` and `tail` are lines as written, before and after."""
    lines = "".join(",".join(map(str, row)) + "\n" for row in table)
    path.write_text("timestamp,role,node,pid,cpu_percent,rss_bytes\n" + head + lines + tail)


def test_resources_are_cut_to_max_points_in_or_out_of_time_order_and_cut_short(tmp_path):
    table = resource_rows(1500)

    def series(rows: list[list], tail: str = "") -> list[dict]:
        write_resource_rows(tmp_path / "resources.csv", rows, tail=tail)
        return resources(tmp_path / "resources.csv")

    expected = expected_resources(table, 1_790_000_000, 3)  # 1,500 s in at most 600 points: 3 s each
    assert series(table) == expected
    assert series(table[20:] + table[:20]) == expected  # the first and last rows are not the first and last times
    # A last row cut short by a killed run has no process, but its time is a sample's: the grid spans it.
    assert series(table, tail="1790002000,target") == expected_resources(table, 1_790_000_000, 4)
    assert series([]) == [] and resources(tmp_path / "absent.csv") == []


def test_resources_read_their_times_where_the_end_rows_do_not_read_whole(tmp_path):
    """The grid spans every row with a time, as a pass reading the times alone finds them: also a last row whose
    other fields do not read (a crash's last write), and a first row without a time at all."""
    table = resource_rows(1500)
    path = tmp_path / "resources.csv"
    write_resource_rows(path, table, tail="1790002000,target,target,1,abc,5\n")
    assert resources(path) == expected_resources(table, 1_790_000_000, 4)
    write_resource_rows(path, table, head=",target,target,1,5,5\n")
    assert resources(path) == expected_resources(table, 1_790_000_000, 3)


def test_a_closed_database_for_the_small_files_is_opened_again(tmp_path):
    path = tmp_path / "resources.csv"
    table = resource_rows(60)
    write_resource_rows(path, table)
    small_files().close()  # as an internal error in DuckDB leaves it: every later query would fail
    assert resources(path) == expected_resources(table, 1_790_000_000, 1)


def test_resources_skip_a_time_of_inf_or_nan(tmp_path):
    path = tmp_path / "resources.csv"
    table = resource_rows(60)
    odd = [["inf", "target", "target", 1, 5, 5], ["nan", "master", "master", 2, 5, 5]]
    write_resource_rows(path, table[:10] + odd + table[10:])
    assert resources(path) == expected_resources(table, 1_790_000_000, 1)
