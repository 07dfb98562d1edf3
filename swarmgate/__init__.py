"""swarmgate: Locust-based load testing with SLA verdicts, baselines, capacity and drift."""

__version__ = "0.1.0"
