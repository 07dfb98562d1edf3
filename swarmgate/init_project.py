"""`swarmgate init [DIR]`: a starter project for a team's own API.

Writes a locustfile (one user on SwarmgateUser, one plain FastHttpUser), scenarios that run it
(the packaged shapes, without the demo's [mix]), the packaged sla.toml and weekly.toml, and a CI
workflow. Nothing is overwritten: if any of the files exists, none is written.
"""

from __future__ import annotations

from pathlib import Path

import swarmgate
from swarmgate.core.config import printable
from swarmgate.core.defaults import package_file, packaged
from swarmgate.core.errors import BadInput, OutputError
from swarmgate.core.files import make_dir, write_atomic

SCENARIOS = ("smoke", "baseline", "peak", "stress", "capacity", "endurance")
WORKFLOW = Path(".github/workflows/load-test.yml")


def starter_scenario(name: str) -> str:
    """A packaged scenario that runs ../locustfile.py: its shape, not the demo's [mix] (the last table)."""
    text = packaged("scenarios").joinpath(f"{name}.toml").read_text(encoding="utf-8")
    shape, _mix = text.split("\n[mix]", 1)
    lines = shape.strip().splitlines()
    while lines and lines[0].startswith("#"):  # the packaged file's own comment speaks of the demo's users
        lines.pop(0)
    return "\n".join(['locustfile = "../locustfile.py"   # the users; without [mix], its classes run with their '
                      "weight", *lines]) + "\n"  # fmt: skip


def starter_sla() -> str:
    """The packaged SLA tables, but no throughput floor: the demo's would fail any other API's runs."""
    lines = []
    for line in packaged("sla.toml").read_text(encoding="utf-8").splitlines():
        if line.split("=")[0].strip() == "min_rps":
            line = "# min_rps = { target = 20, alert = 15 }   # the requests/s this scenario must carry: set your own"
        lines.append(line)
    return "\n".join(lines) + "\n"


def starter_workflow(directory: Path) -> str:
    """The CI workflow, run in the project's folder (relative to the repository root) with this version."""
    text = package_file("swarmgate", "starter", "load-test.yml").read_text(encoding="utf-8")
    return text.replace("{directory}", directory.as_posix()).replace("{version}", swarmgate.__version__)


def starter_files(directory: Path) -> dict[Path, str]:
    files = {Path("locustfile.py"): package_file("swarmgate", "starter", "locustfile.py").read_text(encoding="utf-8")}
    files |= {Path("scenarios") / f"{name}.toml": starter_scenario(name) for name in SCENARIOS}
    files[Path("sla.toml")] = starter_sla()
    files[Path("weekly.toml")] = packaged("weekly.toml").read_text(encoding="utf-8")
    files[WORKFLOW] = starter_workflow(directory)
    return files


def init_project(directory: Path) -> list[Path]:
    """Write the starter project into directory (made if missing); the paths written."""
    files = starter_files(directory)
    existing = sorted(str(directory / path) for path in files if (directory / path).exists())
    if existing:
        raise BadInput(f"{printable(directory, 300)}: already has {', '.join(existing)}; nothing was written "
                       "(swarmgate init never overwrites): move them or choose another directory")  # fmt: skip
    if directory.exists() and not directory.is_dir():
        raise BadInput(f"{printable(directory, 300)}: is a file, not a directory; choose a directory")
    written = []
    try:
        for path, text in files.items():
            make_dir((directory / path).parent)
            write_atomic(directory / path, text)
            written.append(directory / path)
    except OutputError as exc:
        raise OutputError(exc.path, exc.problem, "check the directory's permissions and space, or choose another "
                          "directory") from None  # fmt: skip
    return written
