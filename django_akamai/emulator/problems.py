"""Akamai-style problem+json refusals and the ids Akamai stamps on every answer."""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"
# A reserved top-level domain: these links are clearly the emulator's, never Akamai's.
PROBLEM_BASE = "https://problems.emulator.invalid/"

_support_counter = itertools.count(1)


def new_support_id() -> str:
    """An id shaped like Akamai's (``17PY<13 digits>-<9 digits>``), unique in this process."""
    millis = int(time.time() * 1000) % 10**13
    return f"17PY{millis:013d}-{next(_support_counter) % 10**9:09d}"


def new_purge_id() -> str:
    return str(uuid.uuid4())


class Problem(Exception):  # noqa: N818  (a response to send, not only an error)
    """A refusal to send as problem+json; raised anywhere in request processing."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        slug: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        close: bool = False,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.slug = slug or title.lower().replace(" ", "-")
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        # True when the request body was not read, so the connection cannot be reused.
        self.close = close

    def body(self) -> dict[str, Any]:
        link = PROBLEM_BASE + self.slug
        body: dict[str, Any] = {
            "type": link,
            "title": self.title,
            "httpStatus": self.status,
            "detail": self.detail,
            "supportId": new_support_id(),
            "describedBy": link,
        }
        body.update(self.extra)
        return body
