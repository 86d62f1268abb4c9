"""The HTTP layer shared by both Akamai APIs: session, timeouts, retries, pacing.

Why a loop of our own rather than urllib3's ``Retry``: a 429 from Akamai carries no
``Retry-After``; the wait has to be computed from the X-Ratelimit headers, must not count as a
failure, and has to stay within an overall deadline, with one log line per retry saying why.
The session itself (pooling, keep-alive, TLS) is plain ``requests``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from django.views.decorators.debug import sensitive_variables

from .. import __version__
from ..exceptions import PurgeRequestFailed, PurgeRetriesExhausted, shown
from ..packing import MAX_BODY_BYTES, encode_body, envelope_size
from .pacing import DEFAULT_BUCKET_SIZES, RateLimitPacer

logger = logging.getLogger("django_akamai")

#: Statuses worth another try: server trouble, and 507 (CCU v2's "queue full").
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504, 507})
RATE_LIMITED = 429
USER_AGENT = f"django-akamai/{__version__} python-requests/{requests.__version__}"


class RetryPolicy:
    """Exponential backoff with jitter for transient failures, inside an overall deadline."""

    def __init__(
        self,
        max_retries: int = 8,
        backoff: float = 0.5,
        backoff_max: float = 30.0,
        deadline: float = 600.0,
        rng: random.Random | None = None,
    ):
        self.max_retries = max_retries
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.deadline = deadline
        self._rng = rng or random.Random()

    def backoff_for(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1-based).

        The first retry comes almost at once: a lone 5xx or a keep-alive connection the server
        had closed is usually gone by then. Later ones back off exponentially from
        ``backoff`` with jitter in [50 %, 100 %], so many clients do not retry in step.
        """
        if attempt == 1:
            return self.backoff * self._rng.uniform(0.0, 0.2)
        ceiling = min(self.backoff_max, self.backoff * (2 ** (attempt - 2)))
        return ceiling * self._rng.uniform(0.5, 1.0)


# OpenSSL's words for a TLS handshake that can never succeed by trying again: the server
# speaks plain http (the emulator), or its certificate is not trusted.
_PERMANENT_TLS = (
    "WRONG_VERSION_NUMBER",
    "wrong version number",
    "record layer failure",
    "CERTIFICATE_VERIFY_FAILED",
    "http request",
    "packet length too long",
)


def _tls_problem(base_url: str, exc: requests.exceptions.SSLError) -> str | None:
    """Why TLS to ``base_url`` cannot work, or ``None`` when another try might."""
    text = str(exc)
    if not any(mark in text for mark in _PERMANENT_TLS):
        return None
    host = base_url.partition("://")[2]
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return (
            f"the TLS certificate of {host} is not trusted (CERTIFICATE_VERIFY_FAILED); "
            "check the API host, and any proxy between you and Akamai"
        )
    return (
        f"the TLS handshake with {host} failed: the server does not speak TLS there; "
        f"if it serves plain http (the emulator), set the API host to http://{host}"
    )


def read_body(response: requests.Response) -> str | None:
    """Read a streamed response's body now; what went wrong reading it, or ``None``.

    A body that cannot be decoded (a corrupt gzip) or that breaks off must not turn an answer
    whose status is known into an exception without it: the caller decides on the status.
    """
    try:
        response.content  # noqa: B018  (reads and caches the body)
    except requests.exceptions.ContentDecodingError:
        encoding = response.headers.get("Content-Encoding", "?")
        problem = f"a body that cannot be decoded (Content-Encoding: {encoding})"
    except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError):
        problem = "a body that broke off before its end"
    else:
        return None
    # requests keeps no partial body; an empty one lets later reads (.text, .json()) answer.
    response._content = b""
    response.close()
    return problem


def _excerpt(response: requests.Response) -> str:
    text = " ".join((response.text or "").split())
    return text[:120] + ("..." if len(text) > 120 else "")


def body_problem(response: requests.Response) -> str | None:
    """What is odd about an answer's body, in words for a log line; ``None`` when it is the
    JSON object Akamai documents."""
    problem = getattr(response, "body_problem", None)
    if problem:
        return problem
    if not response.content.strip():
        return "an empty body"
    try:
        body = response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "no Content-Type")
        size = len(response.content)
        return f"a body that is not JSON ({shown(kind)}, {size} bytes: {_excerpt(response)!r})"
    if not isinstance(body, dict):
        return f"a JSON {type(body).__name__} instead of an object"
    return None


def problem_fields(response: requests.Response) -> dict[str, Any]:
    """title/detail/supportId from Akamai's problem+json body (the purge API's or the EdgeGrid
    gateway's), or a short text excerpt."""
    unreadable = getattr(response, "body_problem", None)
    if unreadable:
        return {
            "title": response.reason or "",
            "detail": unreadable,
            "support_id": "",
            "body": None,
        }
    try:
        body = response.json()
    except ValueError:
        text = (response.text or "").strip()
        return {
            "title": response.reason or "",
            "detail": text[:300],
            "support_id": "",
            "body": text[:300],
        }
    if not isinstance(body, dict):
        return {
            "title": response.reason or "",
            "detail": str(body)[:300],
            "support_id": "",
            "body": body,
        }
    return {
        "title": str(body.get("title", "") or ""),
        "detail": str(body.get("detail", "") or ""),
        # The EdgeGrid gateway's refusals (400/401) carry a requestId instead of a supportId.
        "support_id": str(body.get("supportId") or body.get("requestId") or ""),
        "body": body,
    }


def new_session(auth: Any) -> requests.Session:
    """A ``requests.Session`` signing every request with ``auth``, asking for JSON."""
    session = requests.Session()
    session.auth = auth
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept"] = "application/json"
    return session


@dataclass(frozen=True)
class RequestLimits:
    """How big one purge request may be: body bytes, the envelope's share, objects."""

    max_body_bytes: int
    envelope: int
    max_objects: int


class HttpTransport:
    """Auth, timeouts, retries and pacing for one API client, over a ``requests.Session``.

    The API's subclass owns what a request looks like (``purge_path``, ``purge_body``) and how
    big it may be (``request_limits``): planning, dry runs and sending all ask it.

    ``session`` and ``pacer`` may be shared with other transports of the same account (see
    ``transport.sharing``); the counters and ``last_response`` are always this object's own.
    """

    api = ""
    #: The most objects one request carries by default (None: only the bucket limits it).
    default_max_objects: int | None = None

    # --- what a purge request looks like (no I/O; usable without credentials) -------------

    @classmethod
    def extra_body_fields(cls, options: Any) -> dict[str, Any]:
        """Fields the body carries besides ``objects``."""
        return {}

    @classmethod
    def purge_path(cls, options: Any) -> str:
        raise NotImplementedError

    @classmethod
    def purge_body(cls, objects: Sequence[Any], options: Any) -> bytes:
        """The exact bytes sent for ``objects``."""
        return encode_body({"objects": list(objects), **cls.extra_body_fields(options)})

    @classmethod
    def envelope(cls, options: Any) -> int:
        """Bytes of a body with no objects."""
        return envelope_size(cls.extra_body_fields(options) or None)

    @classmethod
    def request_limits_for(
        cls,
        options: Any,
        max_body_bytes: int = MAX_BODY_BYTES,
        bucket_size: int | None = None,
        batch_size: int | None = None,
    ) -> RequestLimits:
        """The limits of one request: the body limit, this API's envelope, and at most
        ``batch_size`` (default: the API's own cap) objects, never more than the bucket holds
        (a larger request could never be accepted)."""
        bucket = bucket_size or DEFAULT_BUCKET_SIZES.get(options.type, 10_000)
        cap = batch_size or cls.default_max_objects
        return RequestLimits(
            max_body_bytes=max_body_bytes,
            envelope=cls.envelope(options),
            max_objects=bucket if cap is None else min(cap, bucket),
        )

    def request_limits(
        self, options: Any, max_body_bytes: int | None = None, batch_size: int | None = None
    ) -> RequestLimits:
        """``request_limits_for`` with the bucket size this transport has learned."""
        return self.request_limits_for(
            options,
            self.max_body_bytes if max_body_bytes is None else max_body_bytes,
            self.pacer.max_objects(options.type),
            batch_size,
        )

    def __init__(
        self,
        base_url: str,
        credentials: Any,
        *,
        timeouts: tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_body_bytes: int = MAX_BODY_BYTES,
        session: requests.Session | None = None,
        pacer: RateLimitPacer | None = None,
    ):
        self.base_url = base_url
        self.max_body_bytes = max_body_bytes
        self.timeouts = timeouts
        self.retry = retry or RetryPolicy()
        self.pacer = pacer if pacer is not None else RateLimitPacer(clock)
        self._sleep = sleep
        self._clock = clock
        self._owns_session = session is None
        self.session = new_session(self.make_auth(credentials)) if session is None else session
        # Proxies and CA bundle from the environment, read once instead of on every request.
        self._send_settings: dict[str, Any] | None = None
        # Counters for callers and benchmarks: what actually went over the wire.
        self.requests_sent = 0
        self.rate_limited = 0
        self.retries = 0
        self.last_response: requests.Response | None = None

    @staticmethod
    def make_auth(credentials: Any) -> Any:
        """The ``requests`` auth that signs this API's requests with ``credentials``."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the session if this transport made it; a shared one stays open."""
        if self._owns_session:
            self.session.close()

    def _send_once(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> requests.Response:
        """One HTTP exchange: the session's headers and auth, through its transport adapter.

        What ``Session.request()`` does, minus what a purge never needs and pays for on every
        request: re-reading the environment's proxy settings (read once here instead),
        merging and extracting cookies (Akamai's APIs set none), and response hooks (only
        EdgeGrid's re-signing of followed redirects, and redirects are not followed).
        """
        session = self.session
        settings = self._send_settings
        if settings is None:
            settings = dict(session.merge_environment_settings(url, {}, None, None, None))
            settings["stream"] = True  # the caller reads the body (read_body): errors are ours
            self._send_settings = settings
        prepared = requests.PreparedRequest()
        prepared.prepare(
            method=method,
            url=url,
            headers={**session.headers, **headers},
            data=body or {},
            auth=session.auth,
        )
        return session.get_adapter(url).send(prepared, timeout=self.timeouts, **settings)

    def send_purge(self, objects: Sequence[Any], options: Any) -> dict[str, Any]:
        """POST one purge request; Akamai's decoded answer (see ``accepted_result``)."""
        path = self.purge_path(options)
        response = self.request(
            "POST",
            path,
            body=self.purge_body(objects, options),
            objects=objects,
            object_type=options.type,
        )
        return self.accepted_result(response, "POST", path, objects)

    def _wait(
        self,
        seconds: float,
        deadline: float,
        reason: str,
        objects: Sequence[Any],
        status: int | None = None,
    ) -> None:
        if self._clock() + seconds > deadline:
            raise PurgeRetriesExhausted(
                f"{reason}; the next try would pass the {self.retry.deadline:.0f}s deadline",
                objects,
                status=status,
                api=self.api,
            )
        if seconds > 0:
            self._sleep(seconds)

    @sensitive_variables()  # reports with DEBUG = False show no local of any frame below
    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        objects: Sequence[Any] = (),
        object_type: str | None = None,
    ) -> requests.Response:
        """Send until accepted; wait out 429s; retry transient failures; raise permanent ones.

        The response's body is read here; ``response.body_problem`` says what went wrong
        reading it (``None`` when nothing did). No exception raised here chains to one of
        requests, urllib3 or http.client: theirs may quote the signed headers.
        """
        url = self.base_url + path
        headers = {"Content-Type": "application/json"} if body is not None else {}
        deadline = self._clock() + self.retry.deadline
        failures = 0
        limited_streak = 0
        while True:
            self._wait(
                self.pacer.delay(object_type, len(objects)),
                deadline,
                "waiting for rate-limit tokens",
                objects,
            )
            reason = ""
            status: int | None = None
            unusable: str | None = None  # the request can never be sent as it is
            try:
                self.requests_sent += 1
                response = self._send_once(method, url, body, headers)
            except requests.exceptions.SSLError as exc:
                unusable = _tls_problem(self.base_url, exc)
                reason = f"{type(exc).__name__} talking to {self.base_url}"
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                reason = f"{type(exc).__name__} talking to {self.base_url}"
            except Exception as exc:  # its message may quote the signed headers
                unusable = (
                    f"{type(exc).__name__} while building or sending the request to "
                    f"{self.base_url} (its message is not shown: it may quote credentials)"
                )
            else:
                self.last_response = response
                # Read here, where its errors are ours; what went wrong travels with it.
                response.body_problem = read_body(response)  # type: ignore[attr-defined]
                self.pacer.observe(response.headers, object_type)
                status = response.status_code
                if status < 300:
                    return response
                if status != RATE_LIMITED:
                    limited_streak = 0
                if status == RATE_LIMITED:
                    self.rate_limited += 1
                    limited_streak += 1
                    # The refusal's own X-Ratelimit headers (or a Retry-After) say how long
                    # until the tokens are there; only without them, back off harder on each
                    # consecutive 429.
                    wait = max(self.pacer.delay(object_type, len(objects)), _retry_after(response))
                    if wait <= 0:
                        wait = min(self.retry.backoff_max, 0.05 * 2**limited_streak)
                    logger.warning(
                        "Akamai %s rate limit (429) for %d object(s); waiting %.2fs for tokens",
                        self.api,
                        len(objects),
                        wait,
                    )
                    self._wait(wait, deadline, "rate limited (429)", objects, status)
                    continue
                if status not in TRANSIENT_STATUSES:
                    raise PurgeRequestFailed(
                        status, objects, api=self.api, **problem_fields(response)
                    )
                reason = f"HTTP {status} {shown(problem_fields(response)['title'])}".strip()
            if unusable:
                # Raised here, outside the except block: no __context__ to requests' exception.
                logger.error("Akamai %s request not sent: %s", self.api, unusable)
                raise PurgeRequestFailed(
                    None, objects, title="request not sent", detail=unusable, api=self.api
                )
            failures += 1
            if failures > self.retry.max_retries:
                raise PurgeRetriesExhausted(
                    f"{reason}; {failures} failed tries", objects, status=status, api=self.api
                )
            delay = self.retry.backoff_for(failures)
            self.retries += 1
            logger.warning(
                "Akamai %s request for %d object(s) failed (%s); retry %d of %d in %.2fs",
                self.api,
                len(objects),
                reason,
                failures,
                self.retry.max_retries,
                delay,
            )
            self._wait(delay, deadline, reason, objects, status)

    def accepted_result(
        self, response: requests.Response, method: str, path: str, objects: Sequence[Any]
    ) -> dict[str, Any]:
        """Akamai's decoded answer to an accepted request.

        Akamai's status is what counts: a 2xx whose body is not the JSON object Akamai
        documents (empty, an HTML page from a proxy, a JSON list, a corrupt gzip) is still an
        acceptance. It is logged as a warning naming the request and what was odd, and the
        result says so under ``"warning"``, which the purge history records.
        """
        problem = body_problem(response)
        if problem is None:
            return response.json()
        status = response.status_code
        logger.warning(
            "Akamai %s answered %s %s (%d object(s)) with HTTP %d and %s; counted as accepted, "
            "as the status says",
            self.api,
            method,
            path,
            len(objects),
            status,
            problem,
        )
        return {
            "httpStatus": status,
            "detail": f"Request accepted (HTTP {status}), but the answer had {problem}.",
            "warning": f"HTTP {status} with {problem}",
        }

    def decoded(self, response: requests.Response, method: str, path: str) -> dict[str, Any]:
        """The JSON object of an answer that is not to a purge (CCU v2's status and queue)."""
        problem = body_problem(response)
        if problem is None:
            return response.json()
        raise PurgeRequestFailed(
            response.status_code,
            (),
            title="unexpected answer",
            detail=f"{method} {path} answered with {problem}",
            api=self.api,
        )


def _retry_after(response: requests.Response) -> float:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else 0.0
    except ValueError:
        return 0.0
