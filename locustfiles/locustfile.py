"""The default locustfile: the four users plus the recorders. `locust -f locustfiles/locustfile.py`."""

from swarmgate.locustfiles import recorders  # noqa: F401  (registers the recording listeners)
from swarmgate.locustfiles.users import AdminUser, BaselineUser, PeakUser, StressTestUser

__all__ = ["AdminUser", "BaselineUser", "PeakUser", "StressTestUser"]
