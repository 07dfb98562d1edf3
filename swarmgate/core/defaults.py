"""Default data (scenarios, SLA tables, weekly config) shipped inside the package.

Lookup order for each: a path named by option; else the file in the working directory
(`./sla.toml`, `./weekly.toml`, `./scenarios/NAME.toml`); else the packaged default.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def package_file(package: str, *parts: str) -> Path:
    """A file or folder shipped inside a swarmgate package, as a real path (the package is not zipped)."""
    return Path(str(files(package).joinpath(*parts)))


def packaged(name: str) -> Path:
    """A file or folder under swarmgate/defaults/ as installed."""
    return package_file("swarmgate", "defaults", name)


def default_file(name: str, explicit: Path | None = None) -> Path:
    """`explicit` if given, else ./name if it exists, else the packaged default."""
    if explicit is not None:
        return explicit
    local = Path(name)
    return local if local.is_file() else packaged(name)


def scenario_dirs() -> list[Path]:
    """Where scenario names are looked up, first match wins: ./scenarios, then the packaged ones."""
    local = Path("scenarios")
    dirs = [local] if local.is_dir() else []
    return [*dirs, packaged("scenarios")]
