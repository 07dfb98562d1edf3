"""`python -P -m swarmgate.locust_process ARGS...`: Locust's own command line, with the installed
swarmgate and Locust imported first.

Locust puts the working directory at the front of sys.path when it loads a locustfile; a user's folder
named `swarmgate/` (or `locust/`) there would then be imported in place of ours. Importing both first,
with -P keeping the working directory off sys.path until then, pins the real packages.
"""

import sys

from locust.main import main

import swarmgate  # noqa: F401  (pins the installed package before Locust adds the working directory)

sys.argv[0] = "locust"
main()
