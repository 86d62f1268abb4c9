"""The control API under ``/emulator/``: what the emulator received, and its knobs and faults.

For people (``curl``), tests and benchmarks that run the emulator in another process. Not part
of Akamai's API: these requests are not counted, faulted or authenticated.

========================  ======  ==========================================================
``/emulator/purges``      GET     the accepted purges, oldest first
``/emulator/counters``    GET     requests, acceptances, refusals, 429s, faults
``/emulator/refusals``    GET     the latest refusals: status, title, detail
``/emulator/edge``        GET     the edge's counters, cached objects and applied purges
``/emulator/reset``       POST    forget all that, refill the buckets, empty the edge
``/emulator/knobs``       GET     the behaviour knobs
``/emulator/knobs``       POST    change knobs: a JSON object, e.g. ``{"fail_rate": 0.1}``
``/emulator/edge/faults`` POST    ``{"drop_next": N, "recache_next": M}``: the edge ignores
                                  the next N purges, then re-caches the old copy after the
                                  next M (see ``faults.PurgeFaults``)
========================  ======  ==========================================================
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from .knobs import Knobs
from .messages import Reply, Route
from .problems import Problem
from .state import AcceptedPurge

PREFIX = "/emulator/"
_METHODS = {
    "/emulator/purges": ("GET",),
    "/emulator/counters": ("GET",),
    "/emulator/refusals": ("GET",),
    "/emulator/edge": ("GET",),
    "/emulator/reset": ("POST",),
    "/emulator/knobs": ("GET", "POST"),
    "/emulator/edge/faults": ("POST",),
}


class EmulatorControls(Protocol):
    """What the control API asks of the emulator (``controller.Emulator`` provides it)."""

    @property
    def purges(self) -> list[AcceptedPurge]: ...

    @property
    def counters(self) -> dict[str, Any]: ...

    @property
    def refusals(self) -> list[dict[str, Any]]: ...

    @property
    def knobs(self) -> Knobs: ...

    def configure(self, **changes: Any) -> None: ...

    def reset(self) -> None: ...

    def edge_json(self) -> dict[str, Any] | None: ...

    def edge_faults(self, *, drop_next: int = 0, recache_next: int = 0) -> dict[str, Any]: ...


def route(path: str) -> Route:
    return Route("control", _METHODS.get(path, ()), {"path": path})


def _json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Problem(400, "malformed JSON", f"The body is not a JSON object: {exc}")
    if not isinstance(document, dict):
        raise Problem(400, "malformed JSON", "The body must be a JSON object")
    return document


def handle(route_: Route, method: str, body: bytes, controls: EmulatorControls) -> Reply:
    try:
        return _handle(route_.params["path"], method, body, controls)
    except Problem as problem:
        return Reply.problem(problem)


def _handle(path: str, method: str, body: bytes, controls: EmulatorControls) -> Reply:
    if path == "/emulator/purges":
        return Reply(200, [purge.as_json() for purge in controls.purges])
    if path == "/emulator/counters":
        return Reply(200, controls.counters)
    if path == "/emulator/refusals":
        return Reply(200, controls.refusals)
    if path == "/emulator/edge":
        edge = controls.edge_json()
        if edge is None:
            raise Problem(404, "Not Found", "No edge is running; start it with --edge-origin")
        return Reply(200, edge)
    if path == "/emulator/knobs":
        if method == "POST":
            try:
                controls.configure(**_json_object(body))
            except (TypeError, ValueError) as exc:
                raise Problem(400, "invalid knob", str(exc))
        return Reply(200, controls.knobs.as_json())
    if path == "/emulator/edge/faults":
        document = _json_object(body)
        unknown = sorted(set(document) - {"drop_next", "recache_next"})
        if unknown:
            raise Problem(
                400, "invalid fault", f"Unknown key(s) {unknown!r}; use drop_next, recache_next"
            )
        try:
            return Reply(200, controls.edge_faults(**document))
        except ValueError as exc:
            raise Problem(400, "invalid fault", str(exc))
    controls.reset()
    return Reply(200, {"reset": True})
