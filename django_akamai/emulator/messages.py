"""What the HTTP plumbing and the APIs behind it hand each other: a route, a request, a reply.

``http_server.py`` frames the bytes; ``purge_api.py`` and ``control_api.py`` decide the
answers. Neither side needs the other's module, only these three shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .problems import Problem


@dataclass(frozen=True)
class Route:
    kind: str  # v3_purge | v3_rate_limit_status | v2_queue | v2_status | control | unknown
    allowed: tuple[str, ...] = ()
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def counted(self) -> bool:
        """Control requests are the tool talking to itself: not counted, not faulted."""
        return self.kind != "control"


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    close: bool = False

    @classmethod
    def problem(cls, problem: Problem, headers: Mapping[str, str] | None = None) -> Reply:
        merged = {**(headers or {}), **problem.headers}
        return cls(problem.status, problem.body(), merged, problem.content_type, problem.close)


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # the request-target as sent: path, ;params and ?query
    headers: list[tuple[str, str]]
    body: bytes
    scheme: str
    default_host: str

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    @property
    def host(self) -> str:
        return self.header("Host") or self.default_host


def routing_problem(route_: Route, method: str, target: str) -> Problem | None:
    """404 for a path no API serves, 405 for a method its route does not take."""
    path = urlsplit(target).path
    if route_.kind == "unknown" or not route_.allowed:
        return Problem(404, "Not Found", f"No such resource: {path}")
    if method not in route_.allowed:
        return Problem(
            405,
            "Method Not Allowed",
            f"{method} is not supported on {path}; use {', '.join(route_.allowed)}",
            headers={"Allow": ", ".join(route_.allowed)},
        )
    return None
