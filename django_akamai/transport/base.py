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
from typing import Any

import requests

from .. import __version__
from ..exceptions import PurgeRequestFailed, PurgeRetriesExhausted
from .pacing import RateLimitPacer

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


def problem_fields(response: requests.Response) -> dict[str, Any]:
    """title/detail/supportId from Akamai's problem+json body (the purge API's or the EdgeGrid
    gateway's), or a short text excerpt."""
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


class HttpTransport:
    """Auth, timeouts, retries and pacing for one API client, over a ``requests.Session``.

    ``session`` and ``pacer`` may be shared with other transports of the same account (see
    ``transport.sharing``); the counters and ``last_response`` are always this object's own.
    """

    api = ""

    def __init__(
        self,
        base_url: str,
        credentials: Any,
        *,
        timeouts: tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        session: requests.Session | None = None,
        pacer: RateLimitPacer | None = None,
    ):
        self.base_url = base_url
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
        if self._send_settings is None:
            self._send_settings = session.merge_environment_settings(url, {}, None, None, None)
        prepared = requests.PreparedRequest()
        prepared.prepare(
            method=method,
            url=url,
            headers={**session.headers, **headers},
            data=body or {},
            auth=session.auth,
        )
        response = session.get_adapter(url).send(
            prepared, timeout=self.timeouts, **self._send_settings
        )
        response.content  # noqa: B018 (read now, so that the connection goes back to the pool)
        return response

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

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        objects: Sequence[Any] = (),
        object_type: str | None = None,
    ) -> requests.Response:
        """Send until accepted; wait out 429s; retry transient failures; raise permanent ones."""
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
            reason: str
            status: int | None = None
            try:
                self.requests_sent += 1
                response = self._send_once(method, url, body, headers)
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                reason = f"{type(exc).__name__} talking to {self.base_url}"
            else:
                self.last_response = response
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
                reason = f"HTTP {status} {problem_fields(response)['title']}".strip()
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


def _retry_after(response: requests.Response) -> float:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else 0.0
    except ValueError:
        return 0.0
