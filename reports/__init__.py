"""Render summary.json for people and for CI; never recomputes a metric."""
