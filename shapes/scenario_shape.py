"""ScenarioShape: runs the stage plan of a swarmgate scenario file. `swarmgate run` uses this module.

locust -f locustfiles/locustfile.py,shapes/scenario_shape.py --scenario-file scenarios/step.toml
"""

from __future__ import annotations

import shapes.options  # noqa: F401  (registers --scenario-file and --time-scale)
from shapes.base import CapacitySearch
from shapes.plan import Stage


class ScenarioShape(CapacitySearch):
    """The plan comes from --scenario-file; a capacity scenario also stops at its breaking step."""

    def build_plan(self) -> list[Stage]:
        from swarmgate.scenarios import load_scenario

        options = self.runner.environment.parsed_options
        scenario = load_scenario(options.scenario_file).scaled(options.time_scale)
        if scenario.capacity is not None:
            self.breach_p95_ms = scenario.capacity.breach_p95_ms
            self.breach_error_ratio = scenario.capacity.breach_error_ratio
        self.searching = scenario.capacity is not None
        return list(scenario.plan)

    def stage_ended(self, index: int) -> bool:
        return super().stage_ended(index) if self.searching else True
