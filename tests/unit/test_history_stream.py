"""The one streamed pass over Locust's history: rows out of order, a row cut short by a killed run."""

from __future__ import annotations

from swarmgate.analysis.history_stream import read_history
from tests.unit.test_series import HEADER

START = 1_790_000_000


def rows(seconds: int) -> list[list]:
    """An endpoint and the Aggregated row each second: 5 users, rps 10 (12 at second 20), p95 20 ms."""
    found = []
    for i in range(seconds):
        for method, name in (("GET", "/a"), ("", "Aggregated")):
            rps = 12 if i == 20 else 10
            found.append([START + i, 5, method, name, rps, 0, 10, 11, 12, 13, 15, 20, 20, 20, 20, 20, 20, i * 10, 0,
                          10, 11, 1, 900, 100])  # fmt: skip
    return found


def write(path, table: list[list], tail: str = "") -> None:
    path.write_text("\n".join(",".join(map(str, row)) for row in [HEADER, *table]) + "\n" + tail)


def test_rows_out_of_time_order_give_the_same_timeline_and_windows(tmp_path):
    ordered, shuffled = tmp_path / "ordered.csv", tmp_path / "shuffled.csv"
    table = rows(40)
    write(ordered, table)
    write(shuffled, table[10:] + table[:10])  # the first and last rows are no longer the run's first and last
    spans = [(START, START + 40)]
    expected, found = read_history(ordered, spans, every_endpoint=True), read_history(shuffled, spans, True)
    assert found.timeline == expected.timeline and found.timeline["start"] == START
    assert {k: (t.tolist(), v.tolist()) for k, (t, v) in found.windows.items()} == {
        k: (t.tolist(), v.tolist()) for k, (t, v) in expected.windows.items()
    }
    assert expected.windows[("GET", "/a", "rps")][0].tolist() == [START + 10, START + 20, START + 30]
    assert expected.windows[("GET", "/a", "rps")][1].tolist() == [10, 12, 10]


def test_a_last_row_cut_short_by_a_killed_run_does_not_lose_the_history(tmp_path):
    path = tmp_path / "locust_stats_history.csv"
    write(path, rows(30), tail=f"{START + 30},5,GET,/a,10,0,1")
    found = read_history(path, [])
    (endpoint,) = [e for e in found.timeline["endpoints"] if e["name"] == "/a"]
    assert found.timeline["t"] == list(range(31)) and endpoint["rps"][:30] == [12 if i == 20 else 10 for i in range(30)]
    assert endpoint["p95_ms"][:30] == [20] * 30
    assert read_history(tmp_path / "absent.csv", []) is None


def test_a_crash_s_unreadable_last_line_or_an_infinite_time_does_not_lose_the_history(tmp_path):
    clean, damaged, spans = tmp_path / "clean.csv", tmp_path / "damaged.csv", [(START, START + 30)]
    table = rows(30)
    write(clean, table)
    expected = read_history(clean, spans, every_endpoint=True)
    write(damaged, table, tail="\0" * 40)  # the last line a crash left: NUL bytes, no time to read
    found = read_history(damaged, spans, every_endpoint=True)
    assert found.timeline == expected.timeline and found.timeline["start"] == START
    infinite = [*table[:20], ["inf", *table[20][1:]], ["nan", *table[20][1:]], *table[20:]]
    write(damaged, infinite)  # a time of inf or NaN is no time: the row is skipped, as an unreadable one
    assert read_history(damaged, spans, every_endpoint=True).timeline == expected.timeline
    write(damaged, [])
    assert read_history(damaged, []).timeline is None  # a header alone: no series
