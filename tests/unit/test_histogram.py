import random

from locust.stats import bucket_response_time, calculate_response_time_percentile

from swarmgate.core.histogram import merge, percentile


def test_percentiles_equal_locusts_for_the_same_requests():
    rng = random.Random(3)
    times = [rng.lognormvariate(4, 1.2) for _ in range(5000)]
    histogram: dict[int, int] = {}
    for t in times:
        histogram[bucket_response_time(t)] = histogram.get(bucket_response_time(t), 0) + 1
    for fraction in (0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0):
        assert percentile(histogram, fraction) == calculate_response_time_percentile(histogram, 5000, fraction)


def test_merge_accepts_json_string_keys_and_empty_is_none():
    assert merge([{"10": 2, "150": 1}, {10: 1}]) == {10: 3, 150: 1}
    assert percentile({}, 0.95) is None
    assert percentile({10: 20, 150: 1}, 0.95) == 10  # 1 of 21 above: within the 5 %
    assert percentile({10: 19, 150: 1}, 0.95) == 150  # Locust's rule: int(20 * 0.95) = 19 may lie below
