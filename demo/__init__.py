"""The embedded demo target: a small HTTP API with a real SQLite database and fault knobs."""
