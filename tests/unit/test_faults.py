import pytest

from swarmgate.demo.faults import Faults, FaultSpecError, parse_route_value


def test_route_values_parse_with_and_without_method():
    v = parse_route_value("GET /api/workspaces=200", kind="--latency")
    assert (v.method, v.template, v.value) == ("GET", "/api/workspaces", 200.0)
    assert v.matches("GET", "/api/workspaces") and not v.matches("POST", "/api/workspaces")
    any_method = parse_route_value("/api/workspaces=0.5", kind="--error-ratio", upper=1)
    assert any_method.matches("POST", "/api/workspaces")
    assert parse_route_value("*=5", kind="--latency").matches("GET", "/anything")


@pytest.mark.parametrize(
    "spec,problem",
    [("nothing", "expected ROUTE=VALUE"), ("=5", "expected ROUTE=VALUE"), ("GET /x=abc", "'abc' is not a number"),
     ("GET /x=-1", "between 0 and 1"), ("api/x=0.5", "route must be '*' or start with '/'"),
     ("/x=2", "between 0 and 1")],
)  # fmt: skip
def test_bad_specs_are_refused_for_their_problem(spec, problem):
    with pytest.raises(FaultSpecError) as err:
        parse_route_value(spec, kind="--error-ratio", upper=1)
    assert str(err.value).startswith(f"--error-ratio {spec!r}: ") and problem in str(err.value)


def test_last_matching_knob_wins_and_ratios_are_seeded():
    faults = Faults(
        latency_ms=[parse_route_value("*=10", kind="l"), parse_route_value("GET /a=300", kind="l")],
        error_ratio=[parse_route_value("/a=0.5", kind="e", upper=1)],
        seed=7,
    )
    assert faults.latency_for("GET", "/a") == 0.3
    assert faults.latency_for("GET", "/b") == 0.01
    hits = sum(faults.should_error("GET", "/a") for _ in range(2000))
    assert 850 < hits < 1150
    assert not any(faults.should_error("GET", "/b") for _ in range(100))


def test_negative_limits_are_refused():
    with pytest.raises(FaultSpecError):
        Faults(max_concurrency=-1)
