"""The `swarmgate` command in-process, through `main` (the console entry point users get), for what needs no process.

`main` is what turns usage errors and swarmgate's own errors into one line and an exit code, so these tests
call it (not CliRunner on `cli`, which would bypass that). Starting a run is replaced by a stub that fails the
test: each refusal must happen before anything starts.
"""

from __future__ import annotations

import pytest

import swarmgate
from swarmgate import jobs
from swarmgate.cli import cli, main
from swarmgate.core.errors import InputError
from swarmgate.locustfiles.auth import SECRET_VARIABLES

KNOWN_SCENARIOS = "baseline, capacity, chaos, endurance, peak, ramp, smoke, spike, step, stress"  # the packaged ones


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Run from an empty folder (no ./scenarios, ./sla.toml), no debug or secret-file settings, nothing started."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SWARMGATE_DEBUG", raising=False)
    for name in SECRET_VARIABLES:
        monkeypatch.delenv(f"{name}_FILE", raising=False)

    def must_not_start(*_args, **_kwargs):
        raise AssertionError("a run or worker was started")

    monkeypatch.setattr(jobs, "run_and_judge", must_not_start)
    monkeypatch.setattr(jobs, "worker_only", must_not_start)


def exit_of(args: list[str], capsys) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `swarmgate ARGS` run by main, as the console script does."""
    with pytest.raises(SystemExit) as ended:
        main(args)
    out, err = capsys.readouterr()
    code = ended.value.code
    return (0 if code is None else code), out, err


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("swarmgate: "), err
    return lines[0]


def test_version_is_the_packages(capsys):
    code, out, err = exit_of(["--version"], capsys)
    assert code == 0 and err == ""
    assert out == f"swarmgate, version {swarmgate.__version__}\n"


def test_the_commands_are_the_documented_ones():
    assert sorted(cli.commands) == ["analyze", "baseline", "demo", "init", "report", "run", "trend", "web",
                                   "weekly"]  # fmt: skip
    assert sorted(cli.commands["baseline"].commands) == ["promote"]


@pytest.mark.parametrize(
    ("command", "usage", "first_help_line"),
    [
        ([], "Usage: swarmgate [OPTIONS] COMMAND [ARGS]...", "swarmgate: load tests with verdicts."),
        (["run"], "Usage: swarmgate run [OPTIONS] [SCENARIOS]...", "Run SCENARIOS in order (default: smoke)"),
        (["web"], "Usage: swarmgate web [OPTIONS]", "Locust's web UI with swarmgate's users and shapes"),
        (["weekly"], "Usage: swarmgate weekly [OPTIONS]", "The scheduled job: run the configured scenarios"),
        (["analyze"], "Usage: swarmgate analyze [OPTIONS] RUN", "Judge RUN (a results dir, or a stock Locust"),
        (["report"], "Usage: swarmgate report [OPTIONS] RUN", "Render report.html again from an analyzed RUN"),
        (["trend"], "Usage: swarmgate trend [OPTIONS]", "Render trend.html: per-endpoint p95"),
        (["baseline"], "Usage: swarmgate baseline [OPTIONS] COMMAND [ARGS]...", "Promoted baselines:"),
        (["baseline", "promote"], "Usage: swarmgate baseline promote [OPTIONS] RUN", "Store RUN as its scenario's"),
        (["demo"], "Usage: swarmgate demo [OPTIONS]", "Serve the embedded demo API until Ctrl-C"),
    ],
)
def test_every_command_has_help(command, usage, first_help_line, capsys, tmp_path):
    for flag in ("--help", "-h"):
        code, out, err = exit_of([*command, flag], capsys)
        assert code == 0 and err == ""
        lines = out.splitlines()
        assert lines[0] == usage
        assert lines[2].strip().startswith(first_help_line), out
        assert "-h, --help" in out
    assert list(tmp_path.iterdir()) == []  # help writes nothing


def test_run_with_an_unknown_scenario_names_the_known_ones_and_creates_nothing(tmp_path, capsys):
    results = tmp_path / "out"
    code, out, err = exit_of(["run", "smoke", "nosuch", "--results-dir", str(results)], capsys)
    assert code == 2 and out == ""
    line = one_line(err)
    assert line.startswith("swarmgate: scenario 'nosuch': no file nosuch.toml")
    assert line.endswith(f"known scenarios: {KNOWN_SCENARIOS}")
    assert not results.exists()  # refused before the first scenario ran, though 'smoke' came first


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--worker"], "--worker needs --master-host HOST (where `swarmgate run --master` runs)"),
        (["--insecure", "--master", "--host", "https://api.example.com"], "--insecure is for runs on one host"),
        (["--insecure", "--worker", "--master-host", "10.0.0.5"], "--insecure is for runs on one host"),
        (["--worker", "--master-host", "10.0.0.5", "smoke"], "--worker takes no scenarios, --workers or --master"),
        (["--master"], "--master needs --host"),
        (["--master", "--workers", "2", "--host", "https://api.example.com"], "--master waits for workers on other"),
        (["--master", "--host", "https://api.example.com", "smoke", "peak"], "--master runs one scenario"),
        (["--master-host", "10.0.0.5"], "--master-host is for --worker"),
    ],
)
def test_run_refuses_conflicting_multi_host_options_before_starting(args, message, capsys, tmp_path):
    results = tmp_path / "out"
    code, out, err = exit_of(["run", *args, "--results-dir", str(results)], capsys)
    assert code == 2 and out == ""
    line = one_line(err)
    assert line.startswith(f"swarmgate: {message}") and line.endswith(" (see: swarmgate run --help)")
    assert not results.exists()


@pytest.mark.parametrize(
    ("knob", "problem"),
    [
        (["--demo-latency", "bogus"], "--demo-latency 'bogus': expected ROUTE=VALUE"),
        (["--demo-latency", "GET /api/items=slow"], "--demo-latency 'GET /api/items=slow': 'slow' is not a number"),
        (["--demo-error-ratio", "*=1.5"], "--demo-error-ratio '*=1.5': value must be between 0 and 1"),
        (["--demo-latency", "api/items=20"], "--demo-latency 'api/items=20': route must be '*' or start with '/'"),
    ],
)
def test_a_bad_demo_knob_is_refused_before_anything_starts(knob, problem, capsys, tmp_path):
    results = tmp_path / "out"
    code, out, err = exit_of(["run", *knob, "--results-dir", str(results)], capsys)
    assert code == 2 and out == ""
    assert one_line(err).startswith(f"swarmgate: {problem}")
    assert not results.exists()


def test_valid_run_options_reach_the_run_with_the_demo_knobs_passed_on(capsys, tmp_path, monkeypatch):
    """The positive control for the refusals above: the same command line, valid, gets to the run."""
    started = []

    def run_and_judge(loaded, options, time_scale, sla_path, quiet):
        started.append((loaded, options, time_scale))
        return 0

    monkeypatch.setattr(jobs, "run_and_judge", run_and_judge)
    results = tmp_path / "out"
    code, _, _ = exit_of(["run", "smoke", "--demo-latency", "GET /api/items=200", "--demo-error-ratio", "*=0.5",
                          "--time-scale", "0.1", "--results-dir", str(results)], capsys)  # fmt: skip
    assert code == 0
    ((loaded, options, time_scale),) = started
    assert [s.name for s in loaded] == ["smoke"] and time_scale == 0.1
    assert options.demo_args == ["--latency=GET /api/items=200", "--error-ratio=*=0.5"]
    assert options.results_root == results and options.host is None and options.insecure is False


def test_a_failed_run_exits_with_its_code(capsys, monkeypatch):
    monkeypatch.setattr(jobs, "run_and_judge", lambda *args: 1)
    assert exit_of(["run"], capsys)[0] == 1


def test_an_unknown_option_is_a_usage_error_with_a_hint(capsys):
    code, out, err = exit_of(["run", "--no-such-option"], capsys)
    assert code == 2 and out == ""
    assert one_line(err) == "swarmgate: No such option '--no-such-option'. (see: swarmgate run --help)"


def test_an_unknown_command_hints_at_the_top_level_help(capsys):
    code, _, err = exit_of(["no-such-command"], capsys)
    assert code == 2
    assert one_line(err) == "swarmgate: No such command 'no-such-command'. (see: swarmgate --help)"


def test_analyze_of_a_missing_path_is_one_line_and_exit_2(capsys, tmp_path):
    missing = tmp_path / "no-such-run"
    code, out, err = exit_of(["analyze", str(missing), "--results-dir", str(tmp_path / "results")], capsys)
    assert code == 2 and out == ""
    assert one_line(err) == (f"swarmgate: {missing}: is neither a swarmgate run dir nor a Locust --csv prefix; "
                             "give results/<scenario>/<run-id>, or PREFIX for PREFIX_stats.csv")  # fmt: skip


def test_a_refused_analyze_writes_nothing_so_trend_still_says_there_is_no_history(capsys, tmp_path):
    results = tmp_path / "results"
    assert exit_of(["analyze", str(tmp_path / "no-such-run"), "--results-dir", str(results)], capsys)[0] == 2
    assert not results.exists()
    assert exit_of(["trend", "--results-dir", str(results)], capsys)[0] == 2


def test_trend_without_history_is_one_line_and_exit_2(capsys, tmp_path):
    results = tmp_path / "results"
    code, out, err = exit_of(["trend", "--results-dir", str(results)], capsys)
    assert code == 2 and out == ""
    assert one_line(err) == (f"swarmgate: {results / 'history.sqlite'}: does not exist; analyze a run first "
                             "(`swarmgate run` or `swarmgate analyze`)")  # fmt: skip
    assert not results.exists()


def test_debug_lets_the_error_propagate_with_its_traceback(capsys, tmp_path, monkeypatch):
    missing = str(tmp_path / "no-such-run")
    with pytest.raises(InputError) as raised:
        main(["--debug", "analyze", missing])
    assert raised.value.exit_code == 2 and raised.value.message.startswith(f"{missing}: is neither")
    assert capsys.readouterr().err == ""  # not turned into the one line

    monkeypatch.setenv("SWARMGATE_DEBUG", "1")  # the same, set in the environment
    with pytest.raises(InputError):
        main(["analyze", missing])


def test_without_arguments_main_reads_sys_argv(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["swarmgate", "--version"])
    code, out, _ = exit_of(None, capsys)
    assert code == 0 and out.startswith("swarmgate, version ")


def test_a_command_group_without_a_command_shows_its_help_unmangled(capsys):
    """As `pip` does: the help on standard output, exit 0 (asking what there is is not an error)."""
    code, out, err = exit_of([], capsys)
    assert code == 0 and out.startswith("Usage: swarmgate [OPTIONS] COMMAND [ARGS]...") and err == ""
    code, out, err = exit_of(["baseline"], capsys)
    assert code == 0 and out.startswith("Usage: swarmgate baseline [OPTIONS] COMMAND [ARGS]...") and "promote" in out


def test_ctrl_c_outside_a_run_is_one_line_and_130(capsys, monkeypatch, tmp_path):
    """A KeyboardInterrupt while analyzing or rendering (no run's handlers installed) is 'aborted', exit 130."""

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("swarmgate.pipeline.render_report", interrupted)
    code, out, err = exit_of(["report", str(tmp_path)], capsys)
    assert (code, err) == (130, "swarmgate: aborted\n")


def test_an_error_line_never_spans_two_lines(capsys, tmp_path):
    """A file name with a newline in it is shown escaped: the refusal stays one line."""
    code, _, err = exit_of(["analyze", str(tmp_path / "bad\nname")], capsys)
    assert code == 2 and err.count("\n") == 1 and "bad\\nname" in err
