"""The purge APIs (Fast Purge v3, CCU v2): routing, authentication, validation, rate limits,
acceptance.

The HTTP server hands over a fully read request and sends back the :class:`Reply`. As at
Akamai, the EdgeGrid gateway answers first (400 "Invalid timestamp" / "Invalid client token",
401 "Not authorized"), then the purge API: body size (413), content type (415), JSON and
objects (400), permission (403), rate limit (429), then acceptance (201). Transient faults are
applied by the server before any of this (see ``http_server.py``). Each accepted purge is
handed to ``on_accept`` (the edge, when one runs).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import re
from collections.abc import Callable
from datetime import datetime, timezone
from urllib.parse import urlsplit

from . import edgegrid_verify
from .credentials import EmulatorCredentials
from .knobs import Knobs
from .messages import Reply, Request, Route
from .problems import GatewayProblem, Problem, new_purge_id, new_support_id
from .ratelimit import RateLimiter
from .state import AcceptedPurge, EmulatorState
from .validation import (
    MAX_BODY_BYTES,
    NETWORKS,
    V3_ACTIONS,
    V3_TYPES,
    check_content_type,
    decode_json_object,
    validate_v2,
    validate_v3,
)

# Fast Purge v3 completes in about this long; Akamai reports it as estimatedSeconds.
V3_ESTIMATED_SECONDS = 5
V2_QUEUE_PATH = "/ccu/v2/queues/default"
V2_REALM = 'Basic realm="CCU API (emulator)"'
# Akamai's CCU v2 default queue holds this many objects; beyond it, 507 "retry later".
V2_QUEUE_CAPACITY = 10_000
# Without the network segment, a purge goes to production (Akamai's default).
DEFAULT_NETWORK = "production"

_V3_PURGE = re.compile(r"/ccu/v3/(?P<action>[^/]+)/(?P<type>[^/]+)(?:/(?P<network>[^/]+))?\Z")
_V3_RATE_LIMIT_STATUS = re.compile(r"/ccu/v3/rate-limit-status/(?P<type>[^/]+)\Z")
_V2_STATUS = re.compile(r"/ccu/v2/purges/(?P<purge_id>[^/]+)\Z")


def route(method: str, target: str) -> Route:
    """The purge API's route for ``target`` (``control_api.route`` has ``/emulator/...``)."""
    path = urlsplit(target).path
    match = _V3_RATE_LIMIT_STATUS.match(path)
    if match:
        if match["type"] in V3_TYPES:
            return Route("v3_rate_limit_status", ("POST",), match.groupdict())
        return Route("unknown")
    match = _V3_PURGE.match(path)
    if match:
        params = {**match.groupdict()}
        params["network"] = params["network"] or DEFAULT_NETWORK
        if (
            params["action"] in V3_ACTIONS
            and params["type"] in V3_TYPES
            and params["network"] in NETWORKS
        ):
            return Route("v3_purge", ("POST",), params)
        return Route("unknown")
    if path == V2_QUEUE_PATH:
        return Route("v2_queue", ("GET", "POST"))
    match = _V2_STATUS.match(path)
    if match:
        return Route("v2_status", ("GET",), match.groupdict())
    return Route("unknown")


def _check_body_size(body: bytes) -> None:
    if len(body) > MAX_BODY_BYTES:
        raise Problem(
            413,
            "Request Entity Too Large",
            f"The body is {len(body)} bytes; the limit is {MAX_BODY_BYTES} bytes",
        )


class PurgeService:
    def __init__(
        self,
        *,
        credentials: EmulatorCredentials,
        knobs: Callable[[], Knobs],
        state: EmulatorState,
        limiter: RateLimiter,
        nonces: edgegrid_verify.NonceCache,
        on_accept: Callable[[AcceptedPurge, float], None] | None = None,
    ) -> None:
        self.credentials = credentials
        # Told of every accepted purge and the seconds after which it takes effect (the edge).
        self.on_accept = on_accept
        self._knobs = knobs
        self.state = state
        self.limiter = limiter
        self.nonces = nonces

    def ratelimit_headers(self, route_: Route) -> dict[str, str]:
        if route_.kind not in ("v3_purge", "v3_rate_limit_status"):
            return {}
        return self.limiter.peek(route_.params["type"])

    def handle(self, route_: Route, request: Request) -> Reply:
        if route_.kind.startswith("v3_"):
            try:
                self._check_edgegrid(request)
            except GatewayProblem as problem:
                # The gateway answered: the purge API (and its rate-limit headers) never saw it.
                return Reply.problem(problem)
        try:
            if route_.kind == "v3_purge":
                return self._v3_purge(route_, request)
            if route_.kind == "v3_rate_limit_status":
                return self._v3_rate_limit_status(route_)
            self._check_basic_auth(request)
            _check_body_size(request.body)
            if route_.kind == "v2_status":
                return self._v2_status(route_.params["purge_id"])
            if request.method == "POST":
                return self._v2_purge(request)
            return Reply(
                200,
                {
                    "httpStatus": 200,
                    "queueLength": self.state.v2_queue_length(),
                    "detail": "The queue may take a minute to reflect new or removed requests.",
                    "supportId": new_support_id(),
                },
            )
        except Problem as problem:
            return Reply.problem(problem, self.ratelimit_headers(route_))

    # --- Fast Purge v3 --------------------------------------------------------------------

    def _check_edgegrid(self, request: Request) -> None:
        creds = self.credentials
        strict = self._knobs().refuse_replayed_nonces
        try:
            edgegrid_verify.verify(
                request.method,
                request.scheme,
                request.host,
                request.target,
                request.headers,
                request.body,
                request.header("Authorization"),
                client_token=creds.client_token,
                client_secret=creds.client_secret,
                access_token=creds.access_token,
                nonces=self.nonces if strict else None,
            )
        except edgegrid_verify.EdgeGridError as error:
            raise GatewayProblem(
                error.status,
                error.kind,
                error.title,
                error.detail,
                instance=f"{request.scheme}://{request.host}{urlsplit(request.target).path}",
                method=request.method,
            )

    def _v3_rate_limit_status(self, route_: Route) -> Reply:
        """Akamai's ``POST /ccu/v3/rate-limit-status/{purge-type}``: the buckets, no tokens."""
        body = {"httpStatus": 201, "detail": "Rate limit status", "supportId": new_support_id()}
        return Reply(201, body, self.limiter.peek(route_.params["type"]))

    def _v3_purge(self, route_: Route, request: Request) -> Reply:
        action, object_type, network = (route_.params[k] for k in ("action", "type", "network"))
        _check_body_size(request.body)
        check_content_type(request.header("Content-Type"))
        knobs = self._knobs()
        body = validate_v3(decode_json_object(request.body), object_type, knobs.allowed_hosts)
        outcome = self.limiter.admit(object_type, len(body.objects))
        if outcome.denial is not None:
            denial = outcome.denial
            problem = Problem(
                429,
                denial.title,
                "",  # Akamai's 429s carry an empty detail; the numbers are in the fields below
                extra={
                    "rateLimit": denial.limit,
                    "rateLimitCurrentRequestSize": denial.requested,
                    "rateLimitRemaining": denial.remaining,
                },
            )
            return Reply.problem(problem, outcome.headers)
        estimate = math.ceil(V3_ESTIMATED_SECONDS / knobs.time_scale)
        purge = AcceptedPurge(
            api="v3",
            action=action,
            type=object_type,
            network=network,
            hostname=body.hostname,
            objects=body.objects,
            purge_id=new_purge_id(),
            support_id=new_support_id(),
            estimated_seconds=estimate,
            received_at=datetime.now(timezone.utc),
        )
        self.state.accept(purge)
        if self.on_accept is not None:
            self.on_accept(purge, V3_ESTIMATED_SECONDS / knobs.time_scale)
        return Reply(
            201,
            {
                "httpStatus": 201,
                "detail": "Request accepted",
                "estimatedSeconds": estimate,
                "purgeId": purge.purge_id,
                "supportId": purge.support_id,
            },
            outcome.headers,
        )

    # --- CCU v2 ---------------------------------------------------------------------------

    def _check_basic_auth(self, request: Request) -> None:
        value = request.header("Authorization") or ""
        scheme, _, encoded = value.partition(" ")
        username = password = ""
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            username, _, password = decoded.partition(":")
        creds = self.credentials
        ok_user = hmac.compare_digest(username.encode(), creds.username.encode())
        ok_password = hmac.compare_digest(password.encode(), creds.password.encode())
        if not (ok_user and ok_password):
            raise Problem(
                401,
                "Unauthorized",
                "Basic authentication with the CCU username and password is required",
                headers={"WWW-Authenticate": V2_REALM},
            )

    def _v2_purge(self, request: Request) -> Reply:
        check_content_type(request.header("Content-Type"))
        knobs = self._knobs()
        body = validate_v2(decode_json_object(request.body), knobs.allowed_hosts)
        queued = self.state.v2_queue_length()
        if queued + len(body.objects) > V2_QUEUE_CAPACITY:
            raise Problem(
                507,
                "Insufficient Storage",
                f"The purge queue holds {queued} of {V2_QUEUE_CAPACITY} objects; "
                f"{len(body.objects)} more do not fit. Retry later.",
            )
        seconds = knobs.v2_estimate_seconds / knobs.time_scale
        estimate = math.ceil(seconds)
        purge = AcceptedPurge(
            api="v2",
            action=body.action,
            type=body.type,
            network=body.domain,
            hostname=None,
            objects=body.objects,
            purge_id=new_purge_id(),
            support_id=new_support_id(),
            estimated_seconds=estimate,
            received_at=datetime.now(timezone.utc),
        )
        self.state.accept_v2(purge, self.credentials.username, seconds)
        if self.on_accept is not None:
            self.on_accept(purge, seconds)
        return Reply(
            201,
            {
                "httpStatus": 201,
                "detail": "Request accepted.",
                "estimatedSeconds": estimate,
                "pingAfterSeconds": estimate,
                "progressUri": f"/ccu/v2/purges/{purge.purge_id}",
                "purgeId": purge.purge_id,
                "supportId": purge.support_id,
            },
        )

    def _v2_status(self, purge_id: str) -> Reply:
        status = self.state.v2_status(purge_id)
        if status is None:
            raise Problem(404, "Not Found", f"No purge with id {purge_id!r}")
        return Reply(200, status)
