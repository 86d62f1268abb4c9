"""The sender: every request to Akamai goes out here, whoever asked for it.

Below the doors and the deliverer, above the transport. One :class:`Sender` per account
client: it packs (how many of a list of planned objects fit in the next request), sends one
request through the transport (which signs, paces from the account's buckets and retries
transient failures), and reports each request: ``request_accepted`` or ``request_failed``
(the purge history listens), the INFO line, and the caller's ``on_request``.

:func:`refuses_objects` classifies Akamai's refusals, in one place: only a refusal of the
objects themselves may be bisected by the deliverer or kept as a failed intent; any other
refusal is the setup's (credentials, clock) and waits.

``PurgeRequest`` (the original's public class) and the deliverer both send through here;
nothing here plans, records or asks the purge switches: it sends what it is given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, NamedTuple

from django.dispatch import Signal

from . import conf
from .exceptions import (
    PurgeIncomplete,
    PurgeRequestFailed,
    PurgeRetriesExhausted,
    preview,
    shown,
)
from .options import PurgeOptions
from .packing import check_fits, count_fitting
from .transport import HttpTransport, RequestLimits, RetryPolicy, transport_for

logger = logging.getLogger("django_akamai")

__all__ = [
    "OBJECT_REFUSALS",
    "Answer",
    "RequestCallback",
    "Sender",
    "default_retry",
    "refused_by_gateway",
    "refuses_objects",
    "request_accepted",
    "request_failed",
]

#: Sent after each request Akamai answered. Receivers get ``sender`` (the class of who asked),
#: ``request`` (who asked), ``api``, ``options`` (PurgeOptions), ``objects`` (the request's
#: objects), ``actor`` (who asked: a user, the command, a task) and either ``result``
#: (Akamai's decoded answer) or ``error`` (the exception), what the request met before
#: its end: ``rate_limited`` (429s waited out) and ``retries`` (transient failures retried),
#: and ``account``: the name of ``AKAMAI_ACCOUNTS`` it was sent on ("" for the default one).
#: A receiver that raises is logged and ignored: recording must never fail a purge.
request_accepted = Signal()
request_failed = Signal()

#: Statuses that refuse the objects of a request (bad URL, not ours, too large), unless the
#: EdgeGrid gateway sent them (see :func:`refused_by_gateway`).
OBJECT_REFUSALS = frozenset({400, 403, 413})

#: ``on_request(accepted, objects, result_or_error)``: called after each request is answered.
RequestCallback = Callable[[bool, list[Any], Any], None]


#: What the EdgeGrid gateway says when it refuses the credentials or the clock with a 400
#: (AKAMAI_API.md §4): it answers before the purge API, which never saw the objects.
GATEWAY_DETAILS = frozenset({"invalid timestamp", "invalid client token"})


def refused_by_gateway(error: PurgeRequestFailed) -> bool:
    """Whether the EdgeGrid gateway refused the request's credentials or clock: a 401, a
    ``pep-authn`` problem type, or a 400 "Invalid timestamp" / "Invalid client token"."""
    if error.status == 401:
        return True
    body = error.body if isinstance(error.body, dict) else {}
    if "pep-authn" in str(body.get("type", "")):
        return True
    return error.status == 400 and error.detail.strip().lower() in GATEWAY_DETAILS


def refuses_objects(error: PurgeRequestFailed) -> bool:
    """Whether Akamai refused the request's objects (bisect them, keep the refused ones as
    failed), rather than the request's setup (credentials, clock: wait and retry)."""
    return error.status in OBJECT_REFUSALS and not refused_by_gateway(error)


def default_retry(deadline: float | None = None) -> RetryPolicy:
    """The retry policy of the ``AKAMAI_MAX_RETRIES`` / ``AKAMAI_RETRY_*`` settings."""
    return RetryPolicy(
        max_retries=conf.setting("AKAMAI_MAX_RETRIES"),
        backoff=conf.setting("AKAMAI_RETRY_BACKOFF"),
        backoff_max=conf.setting("AKAMAI_RETRY_BACKOFF_MAX"),
        deadline=(conf.setting("AKAMAI_RETRY_DEADLINE") if deadline is None else deadline),
    )


class Answer(NamedTuple):
    """One request as ``Sender.post`` sent it: Akamai's decoded answer or the failure, and
    what the request met on its way (429s waited out, transient failures retried)."""

    batch: list[Any]
    options: PurgeOptions
    result: dict[str, Any] | None
    error: PurgeRequestFailed | None
    rate_limited: int
    retries: int


class Sender:
    """Sends planned objects to one Akamai API client, a request at a time."""

    def __init__(
        self,
        credentials: Any,
        *,
        actor: str | None = None,
        on_request: RequestCallback | None = None,
        owner: Any = None,
        account: str | None = None,
        **transport_options: Any,
    ):
        self.credentials = credentials
        #: The account's name in ``AKAMAI_ACCOUNTS`` ("" for the default), for the history.
        self.account = conf.checked_account(account) or ""
        self.actor = actor
        self.on_request = on_request
        #: Who the events name as ``request`` (the ``PurgeRequest``, or this sender).
        self.owner = owner if owner is not None else self
        self.max_body_bytes = transport_options.setdefault(
            "max_body_bytes", conf.setting("AKAMAI_MAX_BODY_BYTES")
        )
        transport_options.setdefault("timeouts", conf.timeouts())
        if "retry" not in transport_options:
            transport_options["retry"] = default_retry()
        self.transport: HttpTransport = transport_for(credentials, **transport_options)

    @property
    def api(self) -> str:
        return self.credentials.api

    def close(self) -> None:
        """Close the HTTP session (its pooled connections)."""
        self.transport.close()

    # --- packing ------------------------------------------------------------------------

    def envelope(self, options: PurgeOptions) -> int:
        """Bytes of an empty body with ``options``; raises ``InvalidPurgeOptions`` for options
        this API cannot send (cache tags on CCU v2)."""
        if self.api == "v2":
            options.v2()
        return self.transport.envelope(options)

    def limits(self, options: PurgeOptions, batch_size: int | None = None) -> RequestLimits:
        return self.transport.request_limits(options, self.max_body_bytes, batch_size)

    def count_fitting(
        self,
        objects: Sequence[Any],
        options: PurgeOptions,
        start: int = 0,
        batch_size: int | None = None,
    ) -> int:
        """How many of ``objects[start:]`` the next request carries (at least one; raises
        ``ObjectTooLarge`` when the first cannot fit any request)."""
        limits = self.limits(options, batch_size)
        count = count_fitting(
            objects,
            max_bytes=limits.max_body_bytes,
            max_objects=limits.max_objects,
            envelope=limits.envelope,
            start=start,
        )
        if count == 0:  # only an object that was never planned for these limits
            check_fits(objects[start], envelope=limits.envelope, max_bytes=limits.max_body_bytes)
        return count

    # --- sending ------------------------------------------------------------------------

    def send(
        self,
        batch: list[Any],
        options: PurgeOptions,
        *,
        settle: Callable[[], AbstractContextManager[Any]] | None = None,
    ) -> dict[str, Any]:
        """Send ``batch`` in one request; return Akamai's decoded answer.

        Raises ``PurgeRequestFailed`` (``PurgeRetriesExhausted`` for transient failures that
        outlasted the retries) after reporting the request.

        ``settle``: once Akamai accepted, ``request_accepted`` is sent inside ``settle()``
        (a context manager), entered after the HTTP request is answered: the deliverer's,
        which removes the request's intents once the receivers have run, in the same commit
        as the history row (``delivery.worker._settling``). An error it raises is the
        caller's.
        """
        return self.report(self.post(batch, options), settle=settle)

    def post(self, batch: list[Any], options: PurgeOptions) -> Answer:
        """The HTTP half of ``send``: the request and Akamai's answer (or the failure), not
        yet reported. Touches no database: the deliverer runs it in a thread of its own
        while it settles the request before (``report`` follows in the caller's thread)."""
        transport = self.transport
        # What this request met on its way, for the history (the transport counts in total).
        limited, retried = transport.rate_limited, transport.retries
        result: dict[str, Any] | None = None
        error: PurgeRequestFailed | None = None
        try:
            result = transport.send_purge(batch, options)
        except PurgeRequestFailed as exc:
            error = exc
        return Answer(
            batch,
            options,
            result,
            error,
            transport.rate_limited - limited,
            transport.retries - retried,
        )

    def report(
        self,
        answer: Answer,
        *,
        settle: Callable[[], AbstractContextManager[Any]] | None = None,
    ) -> dict[str, Any]:
        """The reporting half of ``send``: ``request_failed`` and the failure raised, or
        ``request_accepted`` (inside ``settle()``, see ``send``), the INFO line and the
        answer returned."""
        batch, options = answer.batch, answer.options
        if answer.error is not None:
            self._report(request_failed, False, batch, options, answer.error, answer)
            raise answer.error
        result = answer.result or {}
        with settle() if settle is not None else nullcontext():
            self._report(request_accepted, True, batch, options, result, answer)
        logger.info(
            "Akamai %s accepted %d object(s) %s: action=%s type=%s network=%s purgeId=%s "
            "supportId=%s estimatedSeconds=%s",
            self.api,
            len(batch),
            preview(batch),
            options.action,
            options.type,
            options.network,
            shown(result.get("purgeId")),
            shown(result.get("supportId")),
            shown(result.get("estimatedSeconds")),
        )
        return result

    def send_all(
        self,
        queue: list[Any],
        options: PurgeOptions,
        batch_size: int | None = None,
        *,
        into: list[dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        """Send every object of ``queue`` (packed, in order); return Akamai's answers (each
        also appended to ``into``, if given, as soon as it arrives).

        ``queue`` is edited in place: accepted objects leave it, refused ones stay. A refused
        request does not stop the others: once every other request is sent,
        ``PurgeIncomplete`` lists them all. Transient failures that outlast the retries stop
        at once (Akamai is unreachable): ``PurgeRetriesExhausted`` names everything unsent.
        """
        results: list[dict[str, Any]] = []
        failures: list[PurgeRequestFailed] = []
        refused: list[Any] = []  # objects of refused requests: they stay queued, in order
        start = 0  # urls[:start] is answered: accepted, or refused and copied to `refused`
        try:
            while start < len(queue):
                count = self.count_fitting(queue, options, start, batch_size)
                try:
                    result = self.send(queue[start : start + count], options)
                    results.append(result)
                    if into is not None:
                        into.append(result)
                except PurgeRetriesExhausted as exc:
                    unsent = queue[start:]
                    if failures:
                        raise PurgeIncomplete(failures, results, unsent) from None
                    if len(unsent) > len(exc.objects):
                        # Name everything this call leaves unpurged, not only the batch that
                        # met the failures: a task's final exception is all its caller sees.
                        raise PurgeRetriesExhausted(
                            exc.reason,
                            unsent,
                            exc.status,
                            exc.title,
                            exc.detail,
                            exc.support_id,
                            exc.api,
                            exc.body,
                        ) from None
                    raise
                except PurgeRequestFailed as exc:
                    logger.error("%s", exc)
                    failures.append(exc)
                    refused.extend(queue[start : start + count])
                start += count
        finally:
            # One deletion of everything accepted, however this ends: deleting each batch
            # from the front of the list as it goes would make a large purge quadratic.
            queue[:start] = refused
        if failures:
            raise PurgeIncomplete(failures, results)
        return results

    def _report(
        self,
        signal: Signal,
        accepted: bool,
        batch: list[Any],
        options: PurgeOptions,
        outcome: Any,
        answer: Answer,
    ) -> None:
        outcome_name = "result" if accepted else "error"
        for receiver, response in signal.send_robust(
            sender=type(self.owner),
            request=self.owner,
            api=self.api,
            options=options,
            objects=batch,
            actor=self.actor,
            rate_limited=answer.rate_limited,
            retries=answer.retries,
            account=self.account,
            **{outcome_name: outcome},
        ):
            if isinstance(response, Exception):
                logger.warning("purge event receiver %r failed: %r", receiver, response)
        if self.on_request is not None:
            self.on_request(accepted, batch, outcome)
