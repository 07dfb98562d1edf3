"""Listener classes that record a run into its results directory (see DESIGN.md, the contract)."""
