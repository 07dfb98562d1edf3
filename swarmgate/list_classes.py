"""`python -P -m swarmgate.list_classes FILE`: the user and shape classes of a locustfile.

Loaded exactly as Locust loads it, in a process of its own, so the orchestrator never imports a
team's code. Prints `swarmgate-classes: {JSON}` on a line of its own, after whatever the file prints itself.
"""

import json
import sys

import swarmgate  # noqa: F401  (pins the installed package before Locust adds the locustfile's folder)

MARK = "swarmgate-classes: "  # read by swarmgate.locustfile, which imports this module without Locust


def main(path: str) -> None:
    from locust.util.load_locustfile import load_locustfile  # only in the child process

    users, shapes = load_locustfile(path)
    found = {
        "users": {name: {"weight": cls.weight} for name, cls in users.items()},
        "shapes": [type(shape).__name__ for shape in shapes],
    }
    print("\n" + MARK + json.dumps(found), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
