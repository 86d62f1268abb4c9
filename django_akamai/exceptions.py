"""Every error django-akamai raises, in one hierarchy.

Each message says what failed and what to do about it; errors that come from Akamai carry its
``title``, ``detail`` and ``supportId`` and the objects of the failed request. No message ever
contains a password, client secret or access token.
"""

from __future__ import annotations

import re
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

    #: True when nothing is configured anywhere (arguments, settings, edgerc file), rather
    #: than a CCU v2 password without its username.
    nothing_configured = False


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

# From "//" to the last "@" before any query or fragment, with a ":" in between: perhaps
# ``user:password@`` (perhaps a port and an "@" in the path: then a little too much is hidden).
_MAYBE_USERINFO = re.compile(r"//[^?#]*:[^?#]*@")


def without_userinfo(value: Any) -> Any:
    """``value`` with whatever might be a URL's ``user:password@`` replaced; others as given."""
    if isinstance(value, str) and "@" in value:
        return _MAYBE_USERINFO.sub("//<user:password>@", value)
    return value


def describe(value: Any) -> str:
    """A short repr for messages; whatever might be ``user:password@`` in a URL left out."""
    try:
        text = repr(without_userinfo(value))
    except Exception:  # an int beyond int()'s digit limit, or a repr that raises
        return f"<a {type(value).__name__} that cannot be shown>"
    return text if len(text) <= 200 else text[:200] + "...'"


class InvalidPurgeObject(AkamaiError, ValueError):
    """Something handed to ``add()`` cannot be purged. ``value`` is the offending object
    (a URL's possible ``user:password@`` left out)."""

    def __init__(self, message: str, value: Any = None):
        super().__init__(message)
        self.value = without_userinfo(value)


class UnsupportedPurgeObject(InvalidPurgeObject, TypeError):
    """Not a URL, a model instance with ``get_absolute_url()``, a QuerySet or an iterable of these.

    Also a ``TypeError``, as in the original django-akamai.
    """


class InvalidURL(InvalidPurgeObject):
    """A URL that Akamai would refuse or that cannot be in any cache key."""


class NotAURL(InvalidURL, UnsupportedPurgeObject):
    """``None`` or a number handed to a URL purge: an ``InvalidURL`` and, as in the original,
    a ``TypeError``."""


class InvalidTag(InvalidPurgeObject):
    """A cache tag that breaks Akamai's rules (1-128 characters of a fixed set)."""


class NotATag(InvalidTag, UnsupportedPurgeObject):
    """Something that is not a string (nor an object with tags) handed to a tag purge."""


class InvalidCPCode(InvalidPurgeObject):
    """A CP code that is not a positive integer."""


class NotACPCode(InvalidCPCode, UnsupportedPurgeObject):
    """Something that is neither an integer nor a string of digits handed to a CP code purge."""


class ObjectTooLarge(InvalidPurgeObject):
    """One object alone makes a request body larger than Akamai accepts."""


# --- refusals and failures from Akamai -----------------------------------------------------


def shown(text: Any) -> str:
    """Text from Akamai (a title, a detail, a supportId, a reason phrase) as it may be shown
    in a log line, a command's output, an exception or the admin: every control, format or
    separator character (CR, LF, ESC, U+2028, a bidi override...) and the backslash escaped as
    ``repr`` escapes them, ordinary text as it is. The one place this is decided: a refusal
    whose detail holds ``"\\r\\nCRITICAL ..."`` must not print a forged log line."""
    text = str(text)
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(c if c.isprintable() and c != "\\" else repr(c)[1:-1] for c in text)


def preview(objects: Sequence[Any], limit: int = 5) -> str:
    """The first ``limit`` objects, each as ``repr`` shows it (escaped), and how many more."""
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
            parts.append(f"title: {shown(self.title)}")
        if self.detail:
            parts.append(f"detail: {shown(self.detail)}")
        if self.support_id:
            parts.append(f"supportId: {shown(self.support_id)}")
        parts.append(f"{len(self.objects)} object(s) not purged: {preview(self.objects)}")
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
            f"gave up after transient failures ({shown(self.reason)}); "
            f"{len(self.objects)} object(s) not purged and kept for a later try: "
            f"{preview(self.objects)}"
        )


class PurgeIncomplete(AkamaiError):
    """``purge_all()`` (or a task) could not purge everything; the exception names it all.

    ``failures`` lists each failed request's exception; ``failed_objects`` all their objects;
    ``unsent`` the objects never sent (an earlier request could not get through);
    ``not_purged`` both, everything still in ``PurgeRequest.urls``; ``results`` the results
    of the accepted requests.

    ``args`` hold only plain values (each failure as its class name and arguments), so the
    exception survives pickling and Celery's JSON result backend whole: a task's caller gets
    ``failures`` and ``failed_objects``, not a bare ``AkamaiError``.
    """

    def __init__(
        self,
        failures: Sequence[PurgeRequestFailed | dict[str, Any]],
        results: Sequence[Any] = (),
        unsent: Sequence[Any] = (),
    ):
        self.failures = [_failure_from(failure) for failure in failures]
        self.results = list(results)
        self.unsent = list(unsent)
        self.failed_objects = [obj for failure in self.failures for obj in failure.objects]
        super().__init__(
            [_failure_args(failure) for failure in self.failures], self.results, self.unsent
        )

    @property
    def not_purged(self) -> list[Any]:
        """Every object not purged: refused (or retried in vain), then never sent."""
        return self.failed_objects + self.unsent

    def __str__(self) -> str:
        reasons = "".join(f"\n  - {failure}" for failure in self.failures)
        unsent = (
            f"\n  - {len(self.unsent)} object(s) not sent: {preview(self.unsent)}"
            if self.unsent
            else ""
        )
        return (
            f"{len(self.not_purged)} object(s) were not purged: {len(self.failed_objects)} in "
            f"{len(self.failures)} failed request(s), {len(self.unsent)} not sent "
            f"({len(self.results)} request(s) accepted):{reasons}{unsent}"
        )


def _failure_args(failure: PurgeRequestFailed) -> dict[str, Any]:
    return {"type": type(failure).__name__, "args": list(failure.args)}


def _failure_from(value: PurgeRequestFailed | dict[str, Any]) -> PurgeRequestFailed:
    """A failure as given, or rebuilt from ``_failure_args`` (after pickle or JSON)."""
    if isinstance(value, PurgeRequestFailed):
        return value
    known: list[type[PurgeRequestFailed]] = [PurgeRequestFailed]
    known += _subclasses(PurgeRequestFailed)
    cls = {c.__name__: c for c in known}.get(str(value.get("type")), PurgeRequestFailed)
    return cls(*value.get("args", ()))


def _subclasses(cls: type[PurgeRequestFailed]) -> list[type[PurgeRequestFailed]]:
    found: list[type[PurgeRequestFailed]] = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found
