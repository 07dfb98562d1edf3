"""Group request names so that ids do not explode the stats: /api/workspaces/42 -> /api/workspaces/[id]."""

from __future__ import annotations

import re
from functools import lru_cache

_ID_SEGMENT = re.compile(
    r"^(\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16,})$"
)


@lru_cache(maxsize=4096)
def group_name(path: str) -> str:
    """Drop the query string and replace id-like path segments with `[id]`."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    return "/".join("[id]" if _ID_SEGMENT.match(seg) else seg for seg in path.split("/"))
