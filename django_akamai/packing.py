"""Packing objects into request bodies under Akamai's limits, order kept.

Greedy packing of an ordered list into contiguous bodies is optimal: no other split into
contiguous bodies under the same byte limit needs fewer requests. Sizes are computed exactly
as the transport encodes the body (compact JSON, UTF-8), so a body never exceeds the limit.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from itertools import accumulate
from json.encoder import encode_basestring
from typing import Any

from .exceptions import ObjectTooLarge

#: Akamai answers 413 above this many bytes of body ("50KB" in its docs, 50,000 in practice).
MAX_BODY_BYTES = 50_000

# One encoder for every call: json.dumps() with a non-default argument builds a new one each
# time, which costs more than encoding a URL.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
# The bytes JSON writes as they are inside a string: printable ASCII but '"' and '\\'.
_JSON_AS_IS = bytes(c for c in range(0x20, 0x7F) if c not in b'"\\')


def encode_body(body: dict[str, Any]) -> bytes:
    """The exact bytes sent for a request body: compact JSON, UTF-8."""
    return _COMPACT.encode(body).encode("utf-8")


def encoded_size(obj: Any) -> int:
    """Bytes one object takes inside the JSON array (without the separating comma)."""
    if type(obj) is str:  # URLs and tags: the string encoder alone, as the body's encoder does
        text = encode_basestring(obj)
        return len(text) if text.isascii() else len(text.encode("utf-8"))
    return len(_COMPACT.encode(obj).encode("utf-8"))


def envelope_size(extra_fields: dict[str, Any] | None = None) -> int:
    """Bytes of a body with an empty ``objects`` array (plus any other fields, e.g. CCU v2's)."""
    return len(encode_body({"objects": [], **(extra_fields or {})}))


def check_fits(obj: Any, *, envelope: int, max_bytes: int = MAX_BODY_BYTES) -> None:
    """Raise ``ObjectTooLarge`` if ``obj`` alone makes a body larger than ``max_bytes``."""
    if type(obj) is str and envelope + 6 * len(obj) + 2 <= max_bytes:
        return  # fits even if every character took 6 bytes (JSON's \uXXXX): nothing to count
    size = encoded_size(obj)
    if envelope + size > max_bytes:
        raise ObjectTooLarge(
            f"{str(obj)[:120]!r}... ({size} bytes) cannot fit in one request: Akamai accepts "
            f"at most {max_bytes} bytes of body.",
            obj,
        )


def check_all_fit(
    objects: Iterable[Any], *, envelope: int, max_bytes: int = MAX_BODY_BYTES
) -> None:
    """``check_fits`` for each object, in one loop: a string short enough to fit even if every
    character took 6 bytes (JSON's ``\\uXXXX``) is passed without a call, so checking 100,000
    URLs costs one comparison each."""
    short = (max_bytes - envelope - 2) // 6
    for obj in objects:
        if type(obj) is not str or len(obj) > short:
            check_fits(obj, envelope=envelope, max_bytes=max_bytes)


def _costs(chunk: Sequence[Any]) -> list[int]:
    """Bytes each object adds to a body, its separating comma included (``size + 1``).

    Strings (URLs, tags) are checked all at once in C: printable ASCII without a quote or a
    backslash (``_JSON_AS_IS``) is encoded as itself between two quotes. Other strings go
    through the JSON string encoder; anything else (CP codes) is encoded one by one.
    """
    try:
        joined = "".join(chunk)
    except TypeError:  # not all strings
        return [encoded_size(obj) + 1 for obj in chunk]
    if joined.isascii() and not joined.encode("ascii").translate(None, _JSON_AS_IS):
        return [len(text) + 3 for text in chunk]
    texts = list(map(encode_basestring, chunk))
    if "".join(texts).isascii():
        return [len(text) + 1 for text in texts]
    return [len(text.encode("utf-8")) + 1 for text in texts]


def count_fitting(
    objects: Sequence[Any],
    *,
    max_bytes: int = MAX_BODY_BYTES,
    max_objects: int | None = None,
    envelope: int | None = None,
    start: int = 0,
) -> int:
    """How many objects from ``objects[start:]`` fit in the next body (0 if the first can't)."""
    # Each object costs its size plus a comma, but the first has no comma: one byte back.
    budget = max_bytes - (envelope_size() if envelope is None else envelope) + 1
    limit = len(objects) - start if max_objects is None else min(max_objects, len(objects) - start)
    count = 0
    window = 64  # objects sized at a time: a few first, then as many as should still fit
    while count < limit:
        chunk = objects[start + count : start + min(limit, count + window)]
        running = list(accumulate(_costs(chunk)))
        fitting = bisect_right(running, budget)
        count += fitting
        if fitting < len(chunk):
            break
        budget -= running[-1]
        window = int(budget / (running[-1] / len(chunk)) * 1.1) + 8
    return count


def split_batches(
    objects: Sequence[Any],
    *,
    max_bytes: int = MAX_BODY_BYTES,
    max_objects: int | None = None,
    envelope: int | None = None,
) -> list[list[Any]]:
    """Every body ``objects`` needs, in order. Raises ``ObjectTooLarge`` (a ``ValueError``)
    naming an object that cannot fit in any body."""
    batches = []
    start = 0
    while start < len(objects):
        count = count_fitting(
            objects, max_bytes=max_bytes, max_objects=max_objects, envelope=envelope, start=start
        )
        if count == 0:
            empty = envelope_size() if envelope is None else envelope
            check_fits(objects[start], envelope=empty, max_bytes=max_bytes)  # raises
        batches.append(list(objects[start : start + count]))
        start += count
    return batches
