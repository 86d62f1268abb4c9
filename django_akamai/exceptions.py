"""Every error django-akamai raises, in one hierarchy.

Each message says what failed and what to do about it; errors that come from Akamai carry its
``title``, ``detail`` and ``supportId`` and the objects of the failed request. No message ever
contains a password, client secret or access token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured


class AkamaiError(Exception):
    """Base class of every django-akamai error."""


# --- configuration ----------------------------------------------------------------------


class AkamaiConfigurationError(AkamaiError, ImproperlyConfigured):
    """Credentials, settings or the edgerc file are missing or malformed."""


class NoAkamaiUsernameProvidedException(AkamaiConfigurationError):
    """No credentials at all: neither CCU v2 username/password nor Fast Purge (EdgeGrid)."""


class NoAkamaiPasswordProvidedException(AkamaiConfigurationError):
    """A CCU v2 username was given without its password."""


class EdgercError(AkamaiConfigurationError):
    """The edgerc file cannot be read, or lacks the section or a key.

    ``problem`` says which: ``"unreadable"`` (missing, unreadable, unparsable, a bad value),
    ``"section"`` or ``"key"``; the system checks report each under its own id.
    """

    def __init__(self, message: str, problem: str = "unreadable"):
        super().__init__(message)
        self.problem = problem


class InvalidHostError(AkamaiConfigurationError):
    """An API host or base URL that cannot be used (bad scheme, path, plain http off loopback)."""


class PlainHttpHostError(InvalidHostError):
    """Plain ``http://`` to an API host that is not loopback: secrets would cross unencrypted."""


class NoBaseURLConfigured(AkamaiConfigurationError):
    """A relative path was given to purge but no ``AKAMAI_BASE_URL`` says on which host."""


class InvalidPurgeOptions(AkamaiConfigurationError, ValueError):
    """An unknown action, object type or network in ``options`` or the settings."""


class StatusNotAvailable(AkamaiError, NotImplementedError):
    """Fast Purge v3 has no status or queue endpoint; only CCU v2 had one."""


# --- bad input (raised by add(), before anything is sent) --------------------------------


class InvalidPurgeObject(AkamaiError, ValueError):
    """Something handed to ``add()`` cannot be purged. ``value`` is the offending object."""

    def __init__(self, message: str, value: Any = None):
        super().__init__(message)
        self.value = value


class UnsupportedPurgeObject(InvalidPurgeObject, TypeError):
    """Not a URL, a model instance with ``get_absolute_url()``, a QuerySet or an iterable of these.

    Also a ``TypeError``, as in the original django-akamai.
    """


class InvalidURL(InvalidPurgeObject):
    """A URL that Akamai would refuse or that cannot be in any cache key."""


class InvalidTag(InvalidPurgeObject):
    """A cache tag that breaks Akamai's rules (1-128 characters of a fixed set)."""


class InvalidCPCode(InvalidPurgeObject):
    """A CP code that is not a positive integer."""


class ObjectTooLarge(InvalidPurgeObject):
    """One object alone makes a request body larger than Akamai accepts."""


# --- refusals and failures from Akamai -----------------------------------------------------


def _preview(objects: Sequence[Any], limit: int = 5) -> str:
    shown = ", ".join(repr(o) for o in list(objects)[:limit])
    more = len(objects) - limit
    return f"[{shown}{f', ... {more} more' if more > 0 else ''}]"


class PurgeRequestFailed(AkamaiError):
    """Akamai refused a request permanently (400, 401, 403, 404, 413, 415, ...).

    The objects of that request are not purged and stay in ``PurgeRequest.urls``.
    ``args`` are the constructor's arguments, so the exception survives pickling and Celery's
    JSON result backend with its attributes intact.
    """

    def __init__(
        self,
        status: int | None,
        objects: Sequence[Any] = (),
        title: str = "",
        detail: str = "",
        support_id: str = "",
        api: str = "",
        body: Any = None,
    ):
        self.status = status
        self.objects = list(objects)
        self.title = title
        self.detail = detail
        self.support_id = support_id
        self.api = api
        self.body = body
        super().__init__(status, self.objects, title, detail, support_id, api)

    def __str__(self) -> str:
        return self._message()

    def _message(self) -> str:
        parts = [f"Akamai {self.api + ' ' if self.api else ''}refused the purge request"]
        if self.status is not None:
            parts[0] += f" with HTTP {self.status}"
        if self.title:
            parts.append(f"title: {self.title}")
        if self.detail:
            parts.append(f"detail: {self.detail}")
        if self.support_id:
            parts.append(f"supportId: {self.support_id}")
        parts.append(f"{len(self.objects)} object(s) not purged: {_preview(self.objects)}")
        return "; ".join(parts)


class PurgeRetriesExhausted(PurgeRequestFailed):
    """Transient failures (timeouts, 5xx, 429) lasted past the retry limit or deadline.

    Nothing was lost: the objects stay in ``PurgeRequest.urls``; try again later.
    """

    def __init__(
        self,
        reason: str,
        objects: Sequence[Any] = (),
        status: int | None = None,
        title: str = "",
        detail: str = "",
        support_id: str = "",
        api: str = "",
        body: Any = None,
    ):
        self.reason = reason
        super().__init__(status, objects, title, detail, support_id, api, body)
        self.args = (reason, self.objects, status, title, detail, support_id, api)

    def _message(self) -> str:
        return (
            f"gave up after transient failures ({self.reason}); "
            f"{len(self.objects)} object(s) not purged and kept for a later try: "
            f"{_preview(self.objects)}"
        )


class PurgeIncomplete(AkamaiError):
    """``purge_all()`` sent every batch it could, but some were refused.

    ``failures`` lists each failed request's exception; ``failed_objects`` all their objects
    (still in ``PurgeRequest.urls``); ``results`` the results of the accepted requests.
    """

    def __init__(self, failures: list[PurgeRequestFailed], results: list[dict]):
        self.failures = failures
        self.results = results
        self.failed_objects = [obj for failure in failures for obj in failure.objects]
        reasons = "\n".join(f"  - {failure}" for failure in failures)
        super().__init__(
            f"{len(self.failed_objects)} object(s) in {len(failures)} request(s) were not "
            f"purged ({len(results)} request(s) accepted):\n{reasons}"
        )
