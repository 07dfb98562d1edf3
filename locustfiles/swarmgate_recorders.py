"""Handed to Locust as an extra `-f` module by `swarmgate run` and `swarmgate web`: attaches the
recorders to any locustfile, which then needs no import of swarmgate. Importing the recorders twice
(a locustfile that imports them itself) registers them once."""

from swarmgate.locustfiles import recorders  # noqa: F401  (registers the recording listeners)
