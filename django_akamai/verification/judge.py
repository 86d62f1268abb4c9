"""What one look at the edge says about one purged URL: fresh, stale or unverifiable.

Pure functions of what was seen (no I/O), so every rule is tested on its own:

* **fresh**: the edge went to the origin for this very request (``TCP_MISS``,
  ``TCP_REFRESH_MISS``; ``TCP_REFRESH_HIT`` is the origin confirming the copy with a 304), or
  it served a copy newer than the purge (its ``Age`` is less than the time since the purge
  was accepted) that no version stamp contradicts;
* **stale**: a copy older than the purge (the purge did not take), or a new-looking copy whose
  version stamp betrays old content (a race re-cached it after the purge): its ``ETag`` or
  ``Last-Modified`` is not the origin's (with ``ORIGIN``), or its ``Last-Modified`` predates
  the change that was purged;
* **unverifiable**: nothing answered, the edge failed, it does not answer the debug
  ``Pragma`` headers (a property may restrict them), the object is not cacheable, or the
  origin failed and the edge served its stale copy (a purge cannot help). Never "stale":
  purging again would not change it.

Akamai's ``Age`` and ``Date`` count whole seconds; a copy is called older than the purge only
when its age says so for certain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from .probe import Answer

__all__ = [
    "FRESH",
    "NOT_APPLIED",
    "RECACHED",
    "STALE",
    "UNVERIFIABLE",
    "Verdict",
    "copy_served",
    "judge",
]

FRESH, STALE, UNVERIFIABLE = "fresh", "stale", "unverifiable"
#: Why a URL is stale: its copy is older than the purge (the purge did not take there), or a
#: new-looking copy holds old content (a race re-cached it after the purge).
NOT_APPLIED, RECACHED = "not applied", "re-cached"

#: Answered by the origin for this request (a 304 to the edge's revalidation included).
_FROM_ORIGIN = frozenset(
    {"TCP_MISS", "TCP_REFRESH_MISS", "TCP_REFRESH_HIT", "TCP_CLIENT_REFRESH_MISS"}
)
#: The origin failed and the edge served the copy it had (purged or not).
_ORIGIN_FAILED = frozenset({"TCP_REFRESH_FAIL_HIT"})
#: Slack for whole-second stamps (Last-Modified) against the change's time.
STAMP_SLACK_SECONDS = 1.0


@dataclass(frozen=True)
class Verdict:
    url: str
    state: str  # FRESH, STALE or UNVERIFIABLE
    reason: str
    x_cache: str = ""
    request_id: str = ""  # X-Akamai-Request-ID, to quote to Akamai's support
    cause: str = ""  # for STALE: NOT_APPLIED or RECACHED

    def line(self) -> str:
        """One line for the history: the URL (escaped) and why."""
        request = f" [request {self.request_id}]" if self.request_id else ""
        return f"{self.url!r} {self.state}: {self.reason}{request}"


def cache_status(answer: Answer) -> str:
    """The first word of ``X-Cache`` (``TCP_HIT``...), upper case; "" without one."""
    value = answer.header("X-Cache") or ""
    return value.split(" ", 1)[0].strip().upper()


def copy_served(answer: Answer) -> bool:
    """Whether the edge served a copy without asking the origin (a version check may help)."""
    status = cache_status(answer)
    return bool(status) and "HIT" in status and status not in _FROM_ORIGIN | _ORIGIN_FAILED


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(int(value.strip()))
    except ValueError:
        return None


def _timestamp(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def judge(
    url: str,
    answer: Answer,
    *,
    since_purge: float,
    changed_at: float | None = None,
    now: Callable[[], float] | None = None,
    origin: Answer | None = None,
    last_modified: bool = True,
) -> Verdict:
    """The verdict on ``url`` from the edge's ``answer``.

    ``since_purge``: seconds between the purge's acceptance and this look (the verifier's
    clock). ``changed_at``: when the purged change was committed (epoch seconds), for the
    ``Last-Modified`` rule. ``origin``: the origin's answer to a conditional GET with the
    copy's stamps, when ``ORIGIN`` is configured. ``now``: the wall clock (for ``Date``
    when there is no ``Age``).
    """
    x_cache = answer.header("X-Cache") or ""
    request_id = answer.header("X-Akamai-Request-ID") or ""

    def verdict(state: str, reason: str, cause: str = "") -> Verdict:
        return Verdict(url, state, reason, x_cache, request_id, cause)

    if answer.status is None:
        return verdict(UNVERIFIABLE, f"not reachable ({answer.error})")
    if answer.status >= 500:
        return verdict(UNVERIFIABLE, f"the edge answered HTTP {answer.status}")
    if not x_cache:
        return verdict(
            UNVERIFIABLE,
            "no X-Cache header: the edge does not answer Akamai's debug Pragma headers here",
        )
    if (answer.header("X-Check-Cacheable") or "").strip().upper() == "NO":
        return verdict(UNVERIFIABLE, "not cacheable (X-Check-Cacheable: NO)")
    status = cache_status(answer)
    if status in _FROM_ORIGIN:
        return verdict(FRESH, f"{status}: answered by the origin after the purge")
    if status in _ORIGIN_FAILED:
        return verdict(UNVERIFIABLE, f"{status}: the origin failed; the edge served its copy")
    if not copy_served(answer):
        return verdict(UNVERIFIABLE, f"unknown cache status {status!r}")
    age = _seconds(answer.header("Age"))
    if age is None:
        date = _timestamp(answer.header("Date"))
        if date is not None and now is not None:
            age = max(0.0, now() - date)
    if age is None:
        return verdict(UNVERIFIABLE, f"{status} without Age or Date: the copy's age is unknown")
    if age > since_purge:
        return verdict(
            STALE,
            f"{status}: a copy {age:.0f}s old, older than the purge ({since_purge:.1f}s ago)",
            NOT_APPLIED,
        )
    etag, modified = answer.header("ETag"), answer.header("Last-Modified")
    if origin is not None and origin.status is not None:
        if origin.status == 304:
            return verdict(FRESH, f"{status}: a copy the origin confirms (304)")
        if origin.status < 300:
            origin_etag = origin.header("ETag")
            if etag and origin_etag:
                if etag != origin_etag:
                    return verdict(
                        STALE,
                        f"{status}: the copy's ETag {etag!r} is not the origin's {origin_etag!r} "
                        "(old content re-cached after the purge)",
                        RECACHED,
                    )
                return verdict(FRESH, f"{status}: the copy's ETag is the origin's")
            copy_time, origin_time = (
                _timestamp(modified),
                _timestamp(origin.header("Last-Modified")),
            )
            if copy_time is not None and origin_time is not None:
                if copy_time < origin_time:
                    return verdict(
                        STALE,
                        f"{status}: the copy's Last-Modified {modified!r} is older than the "
                        "origin's (old content re-cached after the purge)",
                        RECACHED,
                    )
                return verdict(FRESH, f"{status}: the copy's Last-Modified is the origin's")
    if last_modified and changed_at is not None:
        copy_time = _timestamp(modified)
        if copy_time is not None and copy_time < changed_at - STAMP_SLACK_SECONDS:
            return verdict(
                STALE,
                f"{status}: the copy's Last-Modified {modified!r} predates the purged change "
                "(old content re-cached after the purge)",
                RECACHED,
            )
    return verdict(FRESH, f"{status}: a copy {age:.0f}s old, newer than the purge")
