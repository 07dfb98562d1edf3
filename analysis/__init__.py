"""Analysis: see DESIGN.md; built in the issues that follow the spine."""
