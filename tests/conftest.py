"""Loaded before any test module: Locust (gevent) must monkey-patch ssl before anything imports it.

Otherwise the outcome depends on which test modules are collected first (requests imports ssl).
"""

import locust  # noqa: F401
