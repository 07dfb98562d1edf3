"""The default users and recorders, plus a per-request log (REQUEST_LOG) that tests compare against."""

import os
import time

from locust import events

from swarmgate.locustfiles.locustfile import AdminUser, BaselineUser, PeakUser, StressTestUser  # noqa: F401


@events.init.add_listener
def open_log(environment, **_kwargs) -> None:
    log = open(os.environ["REQUEST_LOG"], "w", buffering=1 << 16)  # noqa: SIM115

    def write(request_type, name, response_time, exception=None, **_kw) -> None:
        log.write(f"{time.time()!r},{request_type},{name},{response_time!r},{int(exception is not None)}\n")

    environment.events.request.add_listener(write)
    environment.events.quit.add_listener(lambda **_kw: log.close())
