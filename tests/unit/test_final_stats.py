"""The Locust behaviour FinalStatsRecorder works around, pinned, and the rebuild that fixes it."""

import json

from locust.stats import RequestStats, save_stats_json

from swarmgate.locustfiles.recording.final_stats import stats_from_json


def fill(stats: RequestStats) -> None:
    for rt in (5, 12, 147, 3432):
        stats.log_request("GET", "/a", rt, 10)
    stats.log_request("POST", "/b", 40, 10)
    stats.log_error("POST", "/b", "boom")


def test_locust_json_file_resets_endpoint_stats(tmp_path):
    stats = RequestStats()
    fill(stats)
    save_stats_json(stats, str(tmp_path / "locust"))
    assert stats.entries[("/a", "GET")].num_requests == 0  # the trap: entries are stripped ...
    assert stats.total.num_requests == 5  # ... the total is not


def test_rebuilt_stats_equal_the_originals(tmp_path):
    original = RequestStats()
    fill(original)
    expected = {key: (e.num_requests, e.num_failures, e.get_response_time_percentile(0.95), e.max_response_time)
                for key, e in original.entries.items()}  # fmt: skip
    save_stats_json(original, str(tmp_path / "locust"))
    rebuilt = stats_from_json(json.loads((tmp_path / "locust.json").read_text()), original)
    got = {key: (e.num_requests, e.num_failures, e.get_response_time_percentile(0.95), e.max_response_time)
           for key, e in rebuilt.entries.items()}  # fmt: skip
    assert got == expected
    assert got[("/a", "GET")][2] == 3400  # Locust's bucket for 3432 ms
    assert rebuilt.total.num_requests == 5
