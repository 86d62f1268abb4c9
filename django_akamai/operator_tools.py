"""What the operator tools share: reading objects line by line, sending, summarising.

The management command, the admin action and the admin's "Purge URLs" page are thin doors
onto ``PurgeRequest``; this module keeps their input rules and their reports identical. Objects
read here are planned (normalised once, the tag prefix applied once): hand them to
``PurgeRequest.add_planned``, never to ``add``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from . import conf, funnel, switches
from .exceptions import (
    InvalidPurgeObject,
    NoBaseURLConfigured,
    PurgeIncomplete,
    PurgeRequestFailed,
    shown,
)

# Tags and CP codes cannot contain commas or spaces, so a line may hold several of them
# (as in an Edge-Cache-Tag header); a URL is always one whole line.
_WORDS = re.compile(r"[\s,]+")

TYPE_NOUNS = {"url": "URL", "tag": "cache tag", "cpcode": "CP code"}


def read_objects(
    lines: Iterable[str],
    object_type: str,
    *,
    source: str = "line",
    bases: list[str] | None = None,
    split: bool = True,
) -> tuple[list[Any], list[str]]:
    """Validate objects given one per line; blank lines and ``#`` comments are skipped.

    Returns the normalised objects and one error per bad line, e.g. ``"urls.txt, line 3:
    ..."``: every line is checked, so a user fixes all mistakes in one go. With
    ``split=False`` (command-line arguments) each value is one object, even where a line of
    tags or CP codes would hold several, and none is skipped as blank or a comment.
    """
    if bases is None and object_type == "url":
        bases = conf.base_urls()
    objects: list[Any] = []
    errors: list[str] = []
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if split and (not line or line.startswith("#")):
            continue  # an argument is never a comment: "#launch" is a valid tag
        if object_type == "url" or not split:
            values = [line]
        else:
            values = [w for w in _WORDS.split(line) if w]
        for value in values:
            try:
                objects.extend(funnel.normalised(value, object_type, bases))
            except (InvalidPurgeObject, NoBaseURLConfigured) as exc:
                errors.append(f"{source} {number}: {exc}")
    return objects, errors


@dataclass
class Outcome:
    """What happened to one ``PurgeRequest``'s objects."""

    object_type: str
    action: str
    network: str
    api: str
    total: int
    results: list[dict[str, Any]] = field(default_factory=list)
    failures: list[PurgeRequestFailed] = field(default_factory=list)
    #: Objects accepted, counted from the requests Akamai accepted.
    accepted: int = 0
    #: Objects never sent because an earlier request could not get through.
    unsent: list[Any] = field(default_factory=list)
    #: Set when nothing was sent on purpose: ``switches.DISABLED`` or ``switches.SUSPENDED``.
    held_by: str | None = None

    @property
    def ok(self) -> bool:
        if self.held_by:
            return True
        return not self.failures and not self.unsent and self.accepted == self.total

    @property
    def refused_objects(self) -> list[Any]:
        """Objects of the requests that failed (refused, or retried in vain)."""
        return [obj for failure in self.failures for obj in failure.objects]

    @property
    def not_purged(self) -> list[Any]:
        """Everything not purged: refused, then never sent."""
        return self.refused_objects + self.unsent

    @property
    def purge_ids(self) -> list[str]:
        return [str(r["purgeId"]) for r in self.results if r.get("purgeId")]

    @property
    def estimated_seconds(self) -> float | None:
        """The longest estimate: when everything accepted should be gone from the edge."""
        values = [
            r["estimatedSeconds"]
            for r in self.results
            if isinstance(r.get("estimatedSeconds"), (int, float))
        ]
        return max(values) if values else None

    def noun(self) -> str:
        return TYPE_NOUNS.get(self.object_type, self.object_type)


def send(pr: Any, on_request: Callable[[bool, list[Any], Any], None] | None = None) -> Outcome:
    """``pr.purge_all()``, collecting an ``Outcome`` instead of raising Akamai's refusals.

    ``on_request(accepted, objects, result_or_error)`` is called after each request, for
    progress reports. Configuration and input errors still raise: nothing was sent.
    """
    o = pr.purge_options
    outcome = Outcome(
        object_type=o.type, action=o.action, network=o.network, api=pr.api, total=len(pr.urls)
    )

    def collect(accepted: bool, objects: list[Any], result_or_error: Any) -> None:
        if accepted:
            outcome.accepted += len(objects)
            outcome.results.append(result_or_error)
        else:
            outcome.failures.append(result_or_error)
        if on_request:
            on_request(accepted, objects, result_or_error)

    # The request's own callback (rather than re-implementing purge_all's loop) keeps one
    # sending path for every door and sees every failure, including the one that stops
    # purge_all when Akamai cannot be reached.
    previous, pr.on_request = pr.on_request, collect
    try:
        pr.purge_all()
    except (PurgeIncomplete, PurgeRequestFailed):
        pass  # every failure was collected by the callback
    finally:
        pr.on_request = previous
    outcome.held_by = pr.held_by
    refused = set(outcome.refused_objects)
    # Objects leave pr.urls only once accepted: what is left and was in no failed request
    # was never sent (purge_all stops when Akamai is unreachable).
    outcome.unsent = [obj for obj in pr.urls if obj not in refused]
    return outcome


def summary(outcome: Outcome) -> str:
    """One sentence for the admin's messages and the command's last lines."""
    if outcome.held_by == switches.DISABLED:
        return (
            f"Purging is off (AKAMAI_PURGE_ENABLED = False): {outcome.total} "
            f"{outcome.noun()}(s) not sent."
        )
    if outcome.held_by == switches.SUSPENDED:
        return (
            f"Purges are suspended: {outcome.total} {outcome.noun()}(s) will be purged when "
            "the suspend_purges() block ends."
        )
    words = (
        f"{outcome.accepted} {outcome.noun()}(s) in {len(outcome.results)} request(s) "
        f"({outcome.action}, {outcome.network})"
    )
    text = f"Akamai accepted {words}."
    if outcome.purge_ids:
        text += f" purgeId: {', '.join(outcome.purge_ids)}."
    if outcome.estimated_seconds is not None:
        text += f" Estimated seconds: {outcome.estimated_seconds:g}."
    return text


def failure_lines(outcome: Outcome) -> list[str]:
    """One line per refused request: Akamai's status, title, detail and supportId."""
    lines = []
    for failure in outcome.failures:
        head = f"HTTP {failure.status}" if failure.status else "not accepted"
        reason = (
            "; ".join(shown(p) for p in (failure.title, failure.detail) if p)
            or shown(getattr(failure, "reason", ""))
            or str(failure)
        )
        support = f" (supportId {shown(failure.support_id)})" if failure.support_id else ""
        lines.append(
            f"{len(failure.objects)} {outcome.noun()}(s) refused, {head}: {reason}{support}"
        )
    if outcome.unsent:
        lines.append(
            f"{len(outcome.unsent)} {outcome.noun()}(s) not sent: an earlier request "
            "could not get through."
        )
    return lines
