"""The default locustfile: the four users plus the recorders. `locust -f locustfiles/locustfile.py`."""

from locustfiles import recorders  # noqa: F401  (registers the recording listeners)
from locustfiles.users import AdminUser, BaselineUser, PeakUser, StressTestUser

__all__ = ["AdminUser", "BaselineUser", "PeakUser", "StressTestUser"]
