"""Listener classes that record a run into its results directory (docs/results.md lists the files)."""
