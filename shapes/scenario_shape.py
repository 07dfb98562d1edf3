"""ScenarioShape: runs the stage plan the orchestrator hands it. `swarmgate run` uses this module.

The plan is data (--stage-plan / SWARMGATE_STAGE_PLAN, JSON), already validated and time-scaled by
`swarmgate run`; the shape does not read scenario files.
"""

from __future__ import annotations

import swarmgate.shapes.options  # noqa: F401  (registers --stage-plan)
from swarmgate.core.plan import Stage, plan_from_json
from swarmgate.shapes.base import CapacitySearch


class ScenarioShape(CapacitySearch):
    """The plan comes from --stage-plan; a capacity plan also stops at its breaking step."""

    def build_plan(self) -> list[Stage]:
        plan, capacity = plan_from_json(self.runner.environment.parsed_options.stage_plan)
        if capacity is not None:
            self.breach_p95_ms = capacity.breach_p95_ms
            self.breach_error_ratio = capacity.breach_error_ratio
        self.searching = capacity is not None
        return plan

    def stage_ended(self, index: int) -> bool:
        return super().stage_ended(index) if self.searching else True
