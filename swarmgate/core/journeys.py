"""What a journey's outcome is and how its completion ratio is counted: shared by the recorders inside
Locust, the live judge and the analyzer, so the ratio means the same everywhere.

A journey is a user's steps that belong together (sign in and browse; run a workflow and poll it to the
end). It ends in one of three ways: completed; failed (a request in it failed, or the code raised); or
abandoned (the user gave up, e.g. a poll budget ran out, or the user was stopped mid-way). Journeys cut
short because their user was stopped (the test ended, a ramp-down, StopUser) are counted as abandoned
with the reason USER_STOPPED but left out of the completion ratio: the load test ended them, not the
system under test.
"""

from __future__ import annotations

from collections.abc import Mapping

COMPLETED, FAILED, ABANDONED = "completed", "failed", "abandoned"
OUTCOMES = (COMPLETED, FAILED, ABANDONED)
USER_STOPPED = "user stopped"


def judged_count(completed: int, failed: int, abandoned: int, abandoned_at: Mapping[str, int]) -> int:
    """Journeys that ended on their own: every finished one but those cut short by their user's stop."""
    return completed + failed + abandoned - int(abandoned_at.get(USER_STOPPED, 0))


def completion_ratio(completed: int, failed: int, abandoned: int, abandoned_at: Mapping[str, int]) -> float | None:
    """Completed / journeys that ended on their own; None when none did."""
    judged = judged_count(completed, failed, abandoned, abandoned_at)
    return round(completed / judged, 6) if judged > 0 else None
