"""Refusals as Akamai words them, and the ids Akamai stamps on every answer.

Two kinds, because two different Akamai systems answer (``AKAMAI_API.md`` §4):

* :class:`Problem`: the purge API's own errors, ``application/api-problem+json`` with
  ``httpStatus``, ``title``, ``detail``, ``supportId`` and ``describedBy`` (Akamai's
  api-errors page);
* :class:`GatewayProblem`: the EdgeGrid gateway's, which answers before the purge API sees the
  request: ``application/problem+json`` with ``type`` (``.../pep-authn/request-error`` or
  ``.../pep-authn/deny``), ``title``, ``status``, ``detail``, ``instance``, ``method``,
  ``requestId`` and ``requestTime``; no ``httpStatus`` and no ``supportId``.
"""

from __future__ import annotations

import itertools
import secrets
import time
import uuid
from typing import Any

PROBLEM_CONTENT_TYPE = "application/api-problem+json"
GATEWAY_CONTENT_TYPE = "application/problem+json"
DESCRIBED_BY = "https://techdocs.akamai.com/purge-cache/reference/api-errors"
GATEWAY_PROBLEM_BASE = "https://problems.purge.akamaiapis.net/-/pep-authn/"

_support_counter = itertools.count(1)


def new_support_id() -> str:
    """An id shaped like Akamai's (``17PY<13 digits>-<9 digits>``), unique in this process."""
    millis = int(time.time() * 1000) % 10**13
    return f"17PY{millis:013d}-{next(_support_counter) % 10**9:09d}"


def new_purge_id() -> str:
    return str(uuid.uuid4())


class Problem(Exception):  # noqa: N818  (a response to send, not only an error)
    """A refusal of the purge API, sent as api-problem+json; raised anywhere in processing."""

    content_type = PROBLEM_CONTENT_TYPE

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        close: bool = False,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        # True when the request body was not read, so the connection cannot be reused.
        self.close = close

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "httpStatus": self.status,
            "title": self.title,
            "detail": self.detail,
            "supportId": new_support_id(),
            "describedBy": DESCRIBED_BY,
        }
        body.update(self.extra)
        return body


class GatewayProblem(Problem):
    """A refusal of the EdgeGrid gateway (authentication), in the gateway's own shape."""

    content_type = GATEWAY_CONTENT_TYPE

    def __init__(
        self, status: int, kind: str, title: str, detail: str, *, instance: str, method: str
    ) -> None:
        super().__init__(status, title, detail)
        self.kind = kind
        self.instance = instance
        self.method = method

    def body(self) -> dict[str, Any]:
        return {
            "type": GATEWAY_PROBLEM_BASE + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": self.instance,
            "method": self.method,
            "requestId": secrets.token_hex(4),
            "requestTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
