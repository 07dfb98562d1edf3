"""Users whose endpoint names are hostile markup, for the report's escaping tests (browser and source).

The class is called BaselineUser so a scenario's [mix] accepts it; the recorders are imported so the
run records stages, resources and slow requests as a normal run does.
"""

from locust import constant, task

import swarmgate.locustfiles.recorders  # noqa: F401  (records the run)
from swarmgate.locustfiles.base import SwarmgateUser

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=\"window.__pwned='img'\">"
QUOTES = "\"quoted\" 'name' & </script><script>window.__pwned='json'</script>"


class BaselineUser(SwarmgateUser):
    wait_time = constant(0.05)

    @task(3)
    def script_name(self) -> None:
        self.call("GET", "/health", name=SCRIPT, authed=False)

    @task(2)
    def img_name(self) -> None:
        self.call("GET", "/health", name=IMG, authed=False)

    @task(1)
    def quoted_name_that_fails(self) -> None:
        with self.journey(QUOTES) as journey:  # a journey named as markup, failing at a step named as markup
            journey.step(SCRIPT)
            self.call("GET", "/health", name=QUOTES, authed=False, expect=201)  # every answer is a failure

    @task(2)
    def plain(self) -> None:
        self.call("GET", "/api/workspaces?limit=20")
