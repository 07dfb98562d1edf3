"""Shape parameters as Locust options: set on the command line, from the environment, or in the web UI."""

from __future__ import annotations

from locust import events


@events.init_command_line_parser.add_listener
def add_shape_options(parser, **_kwargs) -> None:
    parser.add_argument("--stage-plan-file", default="", env_var="SWARMGATE_STAGE_PLAN_FILE",
                        help="the stage plan ScenarioShape runs (a JSON file `swarmgate run` writes)")  # fmt: skip
    parser.add_argument("--shape-users", type=int, default=10, help="Constant: users; Spike: base users")
    parser.add_argument("--shape-peak-users", type=int, default=100, help="Spike: peak users; Capacity: most users")
    parser.add_argument("--shape-steps", default="5,20,50,100", help="StepLoad: users per step, comma-separated")
    parser.add_argument("--shape-step-s", type=float, default=120.0, help="seconds per step / per spike phase")
    parser.add_argument("--shape-duration-s", type=float, default=300.0, help="Constant: seconds; Ramp: hold")
    parser.add_argument("--shape-spawn-rate", type=float, default=10.0, help="users started (or stopped) per s")
    parser.add_argument("--breach-p95-ms", type=float, default=500.0, help="Capacity: a step breaks above this p95")
    parser.add_argument("--breach-error-ratio", type=float, default=0.01, help="Capacity: ... or this error ratio")
