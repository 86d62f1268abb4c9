"""Server side of EdgeGrid (``EG1-HMAC-SHA256``): recompute and check a request's signature.

The algorithm, as Akamai documents it and edgegrid-python implements it:

* signing key = base64(HMAC-SHA256(key=client_secret, msg=timestamp));
* data to sign = tab-joined: method, scheme, host (the Host header), path with its ``;params``
  and ``?query`` as sent, the canonical signed headers (``name:value`` with the name
  lower-cased and each run of whitespace in the stripped value collapsed to one space, in the
  order of ``headers_to_sign``, tab-joined), the content hash (base64 SHA-256 of at most
  ``max_body`` bytes of a POST body; empty for other methods and empty bodies), and the
  Authorization header up to and including the ``;`` before ``signature=``;
* signature = base64(HMAC-SHA256(key=signing key, msg=data to sign)).

Refusals are what Akamai's EdgeGrid gateway answers before the purge API sees a request
(``AKAMAI_API.md`` §4): a timestamp more than 30 s from the server's clock or an unknown client
token is a 400 "Bad request" (``pep-authn/request-error``); anything else that does not
authenticate is a 401 "Not authorized" (``pep-authn/deny``), "The signature does not match"
for a wrong signature.

Everything here is a pure function except :class:`NonceCache`, the replay memory of the
emulator's opt-in strict mode: Akamai documents no refusal of a re-sent nonce, so by default
none is made.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

SCHEME_NAME = "EG1-HMAC-SHA256"
TIMESTAMP_FORMAT = "%Y%m%dT%H:%M:%S%z"
DEFAULT_MAX_BODY = 131072
# Akamai's gateway refuses a timestamp more than 30 s either side of its clock (users of its
# signers report "Invalid timestamp" from this window; see AKAMAI_API.md §4).
DEFAULT_MAX_SKEW_SECONDS = 30.0
BAD_REQUEST = "request-error"  # 400 "Bad request"
DENY = "deny"  # 401 "Not authorized"
_TITLES = {BAD_REQUEST: "Bad request", DENY: "Not authorized"}
_STATUSES = {BAD_REQUEST: 400, DENY: 401}
#: The detail of a replay refusal in strict mode, which Akamai is not known to make.
REPLAY_DETAIL = "Replayed nonce (emulator strict mode: not confirmed for Akamai)"

_FIELDS = ("client_token", "access_token", "timestamp", "nonce")
_WHITESPACE_RUN = re.compile(r"\s+")
# A value must start with a non-space and hold no CR/LF (or be empty): otherwise a header can
# be read in more than one way, and requests refuses to send it. Same rule, same message.
_VALID_HEADER_VALUE = re.compile(r"\S[^\r\n]*\Z|\Z")

HeadersLike = Mapping[str, str] | Iterable[tuple[str, str]]


class EdgeGridError(Exception):
    """Why a request's EdgeGrid authentication fails, as the gateway says it.

    ``kind`` is the gateway's problem type (:data:`BAD_REQUEST` or :data:`DENY`), which fixes
    ``status`` and ``title``; ``str()`` is the detail.
    """

    def __init__(self, detail: str, kind: str = DENY) -> None:
        super().__init__(detail)
        self.kind = kind
        self.status = _STATUSES[kind]
        self.title = _TITLES[kind]
        self.detail = detail


@dataclass(frozen=True)
class AuthorizationHeader:
    client_token: str
    access_token: str
    timestamp: str
    nonce: str
    signature: str
    unsigned: str  # the header text that was signed: everything before "signature="


def parse_authorization(value: str | None) -> AuthorizationHeader:
    """Split ``EG1-HMAC-SHA256 client_token=..;access_token=..;timestamp=..;nonce=..;
    signature=..`` into its parts, refusing anything else."""
    if not value:
        raise EdgeGridError("The request has no Authorization header")
    prefix = SCHEME_NAME + " "
    if not value.startswith(prefix):
        raise EdgeGridError(f"Invalid authorization header: the scheme must be {SCHEME_NAME}")
    marker = value.rfind("signature=")
    if marker == -1 or (marker > len(prefix) and value[marker - 1] != ";"):
        raise EdgeGridError("Invalid authorization header: the signature field is missing")
    unsigned, signature = value[:marker], value[marker + len("signature=") :]
    fields: dict[str, str] = {}
    for pair in unsigned[len(prefix) :].split(";"):
        if not pair:
            continue
        key, sep, item = pair.partition("=")
        if not sep or key in fields:
            raise EdgeGridError(
                f"Invalid authorization header: malformed or repeated field {key!r}"
            )
        fields[key] = item
    missing = [name for name in _FIELDS if not fields.get(name)]
    if missing or not signature:
        missing += [] if signature else ["signature"]
        raise EdgeGridError("Invalid authorization header: missing " + ", ".join(missing))
    known = {name: fields[name] for name in _FIELDS}
    return AuthorizationHeader(signature=signature, unsigned=unsigned, **known)


def _header_items(headers: HeadersLike) -> list[tuple[str, str]]:
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)


def canonicalize_headers(headers: HeadersLike, headers_to_sign: Iterable[str] = ()) -> str:
    """The signed headers as ``name:value`` lines, tab-joined, in ``headers_to_sign`` order."""
    present: dict[str, str] = {}
    for name, value in _header_items(headers):
        # The first occurrence wins, as a case-insensitive mapping's lookup does.
        present.setdefault(name.lower(), value)
    lines = []
    for name in (h.lower() for h in headers_to_sign):
        if name not in present:
            continue
        value = present[name]
        if not _VALID_HEADER_VALUE.match(value):
            raise EdgeGridError(
                "Invalid leading whitespace, reserved character(s), or return character(s) "
                f"in header value: {value!r}"
            )
        lines.append(f"{name}:{_WHITESPACE_RUN.sub(' ', value.strip())}")
    return "\t".join(lines)


def content_hash(method: str, body: bytes | str | None, max_body: int = DEFAULT_MAX_BODY) -> str:
    """base64 SHA-256 of the first ``max_body`` bytes of a POST body; "" otherwise."""
    if method.upper() != "POST" or not body:
        return ""
    data = body.encode("utf-8") if isinstance(body, str) else body
    return base64.b64encode(hashlib.sha256(data[:max_body]).digest()).decode("ascii")


def data_to_sign(
    method: str,
    scheme: str,
    host: str,
    path_and_query: str,
    headers: HeadersLike,
    body: bytes | str | None,
    auth_header_without_signature: str,
    headers_to_sign: Iterable[str] = (),
    max_body: int = DEFAULT_MAX_BODY,
) -> str:
    return "\t".join(
        [
            method.upper(),
            scheme.lower(),
            host,
            path_and_query,
            canonicalize_headers(headers, headers_to_sign),
            content_hash(method, body, max_body),
            auth_header_without_signature,
        ]
    )


def _b64_hmac(key: str, message: str) -> str:
    digest = hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signing_key(client_secret: str, timestamp: str) -> str:
    return _b64_hmac(client_secret, timestamp)


def compute_signature(
    method: str,
    scheme: str,
    host: str,
    path_and_query: str,
    headers: HeadersLike,
    body: bytes | str | None,
    client_secret: str,
    timestamp: str,
    auth_header_without_signature: str,
    headers_to_sign: Iterable[str] = (),
    max_body: int = DEFAULT_MAX_BODY,
) -> str:
    """The ``signature=`` value a correct client sends for this request."""
    message = data_to_sign(
        method,
        scheme,
        host,
        path_and_query,
        headers,
        body,
        auth_header_without_signature,
        headers_to_sign,
        max_body,
    )
    return _b64_hmac(signing_key(client_secret, timestamp), message)


def parse_timestamp(timestamp: str) -> float:
    """EdgeGrid's ``20140321T19:34:21+0000`` as POSIX seconds."""
    try:
        return datetime.strptime(timestamp, TIMESTAMP_FORMAT).timestamp()
    except ValueError:
        raise EdgeGridError("Invalid timestamp", BAD_REQUEST)


class NonceCache:
    """Nonces seen with a valid signature, remembered while their timestamp is acceptable
    (strict mode only).

    After that the timestamp check refuses a replay on its own, so older entries are dropped.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expiry: dict[tuple[str, str], float] = {}
        self._by_expiry: list[tuple[float, tuple[str, str]]] = []  # a heap, oldest first

    def check_and_add(self, client_token: str, nonce: str, expires_at: float, now: float) -> bool:
        """Record the nonce; False when it was already used and is still remembered."""
        with self._lock:
            while self._by_expiry and self._by_expiry[0][0] <= now:
                _, old = heapq.heappop(self._by_expiry)
                if self._expiry.get(old, now + 1) <= now:
                    del self._expiry[old]
            key = (client_token, nonce)
            if key in self._expiry:
                return False
            self._expiry[key] = expires_at
            heapq.heappush(self._by_expiry, (expires_at, key))
            return True

    def clear(self) -> None:
        with self._lock:
            self._expiry.clear()
            self._by_expiry.clear()

    def __len__(self) -> int:
        return len(self._expiry)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def verify(
    method: str,
    scheme: str,
    host: str,
    path_and_query: str,
    headers: HeadersLike,
    body: bytes | str | None,
    authorization: str | None,
    *,
    client_token: str,
    client_secret: str,
    access_token: str,
    headers_to_sign: Iterable[str] = (),
    max_body: int = DEFAULT_MAX_BODY,
    now: float | None = None,
    max_skew: float | None = DEFAULT_MAX_SKEW_SECONDS,
    nonces: NonceCache | None = None,
) -> AuthorizationHeader:
    """Check a request's Authorization header; raise :class:`EdgeGridError` saying why not.

    Order: header shape, client token, timestamp window (skipped when ``max_skew`` is None),
    access token, signature, then (only when ``nonces`` is given: strict mode) nonce reuse,
    so that a forged request cannot burn a nonce.
    """
    auth = parse_authorization(authorization)
    if not _same(auth.client_token, client_token):
        raise EdgeGridError("Invalid client token", BAD_REQUEST)
    signed_at = parse_timestamp(auth.timestamp)
    now = time.time() if now is None else now
    if max_skew is not None and abs(now - signed_at) > max_skew:
        raise EdgeGridError("Invalid timestamp", BAD_REQUEST)
    if not _same(auth.access_token, access_token):
        raise EdgeGridError("Invalid access token")
    expected = compute_signature(
        method,
        scheme,
        host,
        path_and_query,
        headers,
        body,
        client_secret,
        auth.timestamp,
        auth.unsigned,
        headers_to_sign,
        max_body,
    )
    if not _same(auth.signature, expected):
        raise EdgeGridError("The signature does not match")
    if nonces is not None:
        window = DEFAULT_MAX_SKEW_SECONDS if max_skew is None else max_skew
        if not nonces.check_and_add(auth.client_token, auth.nonce, signed_at + window, now):
            raise EdgeGridError(REPLAY_DETAIL)
    return auth
