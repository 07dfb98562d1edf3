"""Shapes for the Locust web UI's class picker, each driven by --shape-* options (editable in the UI).

locust -f locustfiles/locustfile.py,shapes/catalog.py --class-picker
"""

from __future__ import annotations

import swarmgate.shapes.options  # noqa: F401  (registers the --shape-* options)
from swarmgate.core import plan
from swarmgate.core.plan import Stage
from swarmgate.shapes.base import CapacitySearch, PlannedShape


class ShapeFromOptions(PlannedShape):
    abstract = True

    @property
    def options(self):
        return self.runner.environment.parsed_options


class Constant(ShapeFromOptions):
    """Endurance: a fixed number of users for a fixed time."""

    def build_plan(self) -> list[Stage]:
        o = self.options
        return plan.constant(o.shape_users, o.shape_duration_s, o.shape_spawn_rate)


class StepLoad(ShapeFromOptions):
    def build_plan(self) -> list[Stage]:
        o = self.options
        return plan.steps([int(n) for n in o.shape_steps.split(",")], o.shape_step_s, o.shape_spawn_rate)


class Spike(ShapeFromOptions):
    def build_plan(self) -> list[Stage]:
        o = self.options
        return plan.spike(o.shape_users, o.shape_peak_users, o.shape_step_s, o.shape_step_s, o.shape_step_s,
                          o.shape_spawn_rate)  # fmt: skip


class RampHoldRampDown(ShapeFromOptions):
    """k6 style: ramp to the peak over one step, hold, ramp down to zero over one step."""

    def build_plan(self) -> list[Stage]:
        o = self.options
        return plan.linear([(o.shape_step_s, o.shape_peak_users), (o.shape_duration_s, o.shape_peak_users),
                            (o.shape_step_s, 0)])  # fmt: skip


class Capacity(CapacitySearch):
    """Add --shape-users every step up to --shape-peak-users until a step breaches."""

    def build_plan(self) -> list[Stage]:
        o = self.runner.environment.parsed_options
        self.breach_p95_ms, self.breach_error_ratio = o.breach_p95_ms, o.breach_error_ratio
        users = list(range(o.shape_users, o.shape_peak_users + 1, o.shape_users))
        return plan.steps(users, o.shape_step_s, o.shape_spawn_rate)
