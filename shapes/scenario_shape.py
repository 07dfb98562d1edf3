"""ScenarioShape: runs the stage plan the orchestrator hands it. `swarmgate run` uses this module.

The plan is data (a JSON file named by --stage-plan-file / SWARMGATE_STAGE_PLAN_FILE), already
validated and time-scaled by `swarmgate run`; the shape does not read scenario files.
"""

from __future__ import annotations

from pathlib import Path

import swarmgate.shapes.options  # noqa: F401  (registers --stage-plan-file)
from swarmgate.core.plan import Stage, plan_from_json
from swarmgate.shapes.base import CapacitySearch


class ScenarioShape(CapacitySearch):
    """The plan comes from --stage-plan-file; a capacity plan also stops at its breaking step."""

    def build_plan(self) -> list[Stage]:
        path = Path(self.runner.environment.parsed_options.stage_plan_file)
        plan, capacity = plan_from_json(path.read_text(encoding="utf-8"))
        if capacity is not None:
            self.breach_p95_ms = capacity.breach_p95_ms
            self.breach_error_ratio = capacity.breach_error_ratio
        self.searching = capacity is not None
        return plan

    def stage_ended(self, index: int) -> bool:
        return super().stage_ended(index) if self.searching else True
