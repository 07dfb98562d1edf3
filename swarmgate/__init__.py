"""swarmgate: Locust-based load testing with SLA verdicts, baselines, capacity and drift.

The public API for locustfiles (imported on first use, so `import swarmgate` stays light):

    from swarmgate import SwarmgateUser            # a FastHttpUser with auth, validation, URL grouping
    from swarmgate import PlannedShape, CapacitySearch, Stage   # shapes driven by stage plans
    from swarmgate import requests_per_second      # a wait_time pacing a SwarmgateUser by requests/s
    from swarmgate import journey, as_journey       # journeys in any locustfile (completion, duration)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.2.0"

__all__ = ["CapacitySearch", "PlannedShape", "Stage", "SwarmgateUser", "__version__", "as_journey", "journey",
           "requests_per_second"]  # fmt: skip

_PUBLIC = {
    "SwarmgateUser": "swarmgate.locustfiles.base",
    "PlannedShape": "swarmgate.shapes.base",
    "CapacitySearch": "swarmgate.shapes.base",
    "Stage": "swarmgate.core.plan",
    "requests_per_second": "swarmgate.locustfiles.pacing",
    "journey": "swarmgate.locustfiles.journeys",
    "as_journey": "swarmgate.locustfiles.journeys",
}

if TYPE_CHECKING:
    from swarmgate.core.plan import Stage
    from swarmgate.locustfiles.base import SwarmgateUser
    from swarmgate.locustfiles.journeys import as_journey, journey
    from swarmgate.locustfiles.pacing import requests_per_second
    from swarmgate.shapes.base import CapacitySearch, PlannedShape


def __getattr__(name: str) -> object:
    """Import the public classes on first use: Locust (and gevent's patching) only when asked for."""
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'swarmgate' has no attribute {name!r}")
