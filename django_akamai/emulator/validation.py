"""What Akamai accepts in a purge request body; each refusal is a :class:`Problem`."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .problems import Problem

MAX_BODY_BYTES = 50_000

V3_ACTIONS = ("invalidate", "delete")
V3_TYPES = ("url", "cpcode", "tag")
NETWORKS = ("production", "staging")
V2_ACTIONS = ("remove", "invalidate")
V2_TYPES = ("arl", "cpcode")

# Akamai's cache-tag alphabet: alphanumerics and !#$%&'+-.^_`|~, 1 to 128 characters. Its
# table of disallowed characters lists < > * @ \ { } : , " = ( ) ? ; / [ ] and space: the
# slash is refused too (AKAMAI_API.md §1). \Z, not $: a final newline is refused as well.
_TAG = re.compile(r"[A-Za-z0-9!#$%&'+\-.^_`|~]{1,128}\Z")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
_BAD_URL_CHARS = re.compile(r"[\x00-\x20\x7f]")
# An ARL: /L/<serial>/<CP code>/<TTL>/<origin host>[/<path>] (also /D/ for dynamic content).
_ARL = re.compile(r"/[LD]/\d+/\d+/[^/]+/(?P<host>[^/?#]+)(?:[/?#].*)?\Z")


@dataclass(frozen=True)
class V3Body:
    objects: tuple[Any, ...]
    hostname: str | None


@dataclass(frozen=True)
class V2Body:
    objects: tuple[Any, ...]
    action: str
    type: str
    domain: str


def _bad(title: str, detail: str) -> Problem:
    return Problem(400, title, detail)


def check_content_type(value: str | None) -> None:
    media_type = (value or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise Problem(
            415,
            "Unsupported Media Type",
            f"Content-Type must be application/json, not {value or 'absent'!r}",
        )


def decode_json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad("malformed JSON", f"The request body is not valid JSON: {exc}")
    except RecursionError:
        # A client sends nothing this deep on purpose; a 5xx would only make it retry.
        raise _bad("malformed JSON", "The request body is nested too deeply")
    if not isinstance(document, dict):
        raise _bad("malformed JSON", "The request body must be a JSON object")
    return document


def _objects(document: dict[str, Any]) -> list[Any]:
    objects = document.get("objects")
    if objects is None:
        raise _bad("missing objects", 'The body has no "objects" list')
    if not isinstance(objects, list):
        raise _bad("invalid objects", '"objects" must be a JSON array')
    if not objects:
        raise _bad("missing objects", '"objects" must not be empty')
    return objects


def valid_hostname(host: str) -> bool:
    """An RFC 1123 host name or an IP address (no port, no userinfo)."""
    if not host or len(host) > 253:
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        pass
    labels = host.lower().split(".")
    if labels[-1].isdigit():
        return False  # looks like a broken IPv4 address
    return all(_LABEL.match(label) for label in labels)


def url_host(value: str) -> str:
    """The host of an ``http(s)://host[:port]/path`` URL; a 400 when it is not one."""
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or 0 < parts.port
    except ValueError:
        raise _bad("bad URL hostname", f"Invalid host or port in {value!r}")
    if not value.isascii():
        raise _bad("bad URL", f"Non-ASCII characters in {value!r}; percent-encode them")
    if parts.scheme.lower() not in ("http", "https"):
        raise _bad("bad URL", f"Not an http(s) URL: {value!r}")
    host = parts.hostname or ""
    if not port_ok or "@" in parts.netloc or not valid_hostname(host):
        raise _bad("bad URL hostname", f"Invalid hostname in {value!r}")
    if _BAD_URL_CHARS.search(value):
        raise _bad("bad URL", f"Whitespace or control characters in {value!r}")
    return host


def _check_allowed(hosts: Sequence[tuple[str, str]], allowed: Collection[str] | None) -> None:
    if allowed is None:
        return
    refused = [obj for host, obj in hosts if host.lower() not in allowed]
    if refused:
        more = f" and {len(refused) - 10} more" if len(refused) > 10 else ""
        shown = ", ".join(refused[:10]) + more
        raise Problem(
            403,
            "unauthorized arl",
            f"The credentials are not authorized to purge: {shown}",
        )


def _check_path(obj: str) -> None:
    if not obj.isascii():
        raise _bad("bad URL", f"Non-ASCII characters in {obj!r}; percent-encode them")
    if _BAD_URL_CHARS.search(obj):
        raise _bad("bad URL", f"Whitespace or control characters in {obj!r}")


def _arl_host(obj: str) -> str | None:
    """The origin host of an ARL object, or None when ``obj`` is not an ARL."""
    match = _ARL.match(obj)
    if match is None:
        return None
    _check_path(obj)
    host = match["host"].lower()
    if not valid_hostname(host):
        raise _bad("bad URL hostname", f"Invalid hostname in ARL {obj!r}")
    return host


def _urls(objects: list[Any], hostname: str | None) -> list[tuple[str, str]]:
    """(host, object) for each URL, ARL or (with ``hostname``) path; one bad object refuses
    the whole request."""
    hosts = []
    for obj in objects:
        if not isinstance(obj, str):
            raise _bad("invalid object type", f"URL purges take strings, not {obj!r}")
        if hostname is not None and obj.startswith("/"):
            _check_path(obj)
            hosts.append((hostname, obj))
        elif obj.startswith("/"):
            arl_host = _arl_host(obj)
            if arl_host is None:
                raise _bad("bad URL", f'A path needs the "hostname" field: {obj!r}')
            hosts.append((arl_host, obj))
        else:
            hosts.append((url_host(obj), obj))
    return hosts


def _cpcodes(objects: list[Any]) -> None:
    for obj in objects:
        # bool is an int in Python but never a CP code in JSON.
        if isinstance(obj, bool) or not isinstance(obj, int):
            raise _bad("invalid object type", f"CP code purges take integers, not {obj!r}")
        if obj <= 0:
            raise _bad("invalid CP code", f"CP codes are positive integers, not {obj!r}")


def _tags(objects: list[Any]) -> None:
    for obj in objects:
        if not isinstance(obj, str):
            raise _bad("invalid object type", f"Tag purges take strings, not {obj!r}")
        if not _TAG.match(obj):
            raise _bad(
                "invalid cache tag",
                "Cache tags are 1-128 characters of letters, digits and !#$%&'+-.^_`|~ "
                f"(no space, slash or other punctuation): {obj!r}",
            )


def validate_v3(
    document: dict[str, Any], object_type: str, allowed_hosts: Collection[str] | None
) -> V3Body:
    objects = _objects(document)
    hostname = document.get("hostname")
    if hostname is not None:
        if object_type != "url":
            raise _bad("invalid hostname", '"hostname" is only accepted for URL purges')
        if not isinstance(hostname, str) or not valid_hostname(hostname):
            raise _bad("bad URL hostname", f"Invalid hostname {hostname!r}")
    if object_type == "url":
        _check_allowed(_urls(objects, hostname), allowed_hosts)
    elif object_type == "cpcode":
        _cpcodes(objects)
    else:
        _tags(objects)
    return V3Body(tuple(objects), hostname)


def _choice(document: dict[str, Any], key: str, allowed: Sequence[str], default: str) -> str:
    value = document.get(key, default)
    if value not in allowed:
        raise _bad(f"invalid {key}", f'"{key}" must be one of {", ".join(allowed)}: {value!r}')
    return value


def validate_v2(document: dict[str, Any], allowed_hosts: Collection[str] | None) -> V2Body:
    objects = _objects(document)
    action = _choice(document, "action", V2_ACTIONS, "remove")
    object_type = _choice(document, "type", V2_TYPES, "arl")
    domain = _choice(document, "domain", NETWORKS, "production")
    if object_type == "arl":
        _check_allowed(_urls(objects, None), allowed_hosts)
    else:
        for obj in objects:
            # CCU v2 documents CP codes as strings of digits; integers are accepted too.
            number = obj if isinstance(obj, int) and not isinstance(obj, bool) else None
            if isinstance(obj, str) and obj.isascii() and obj.isdigit():
                number = int(obj)
            if number is None or number <= 0:
                raise _bad("invalid CP code", f"CP codes are positive integers, not {obj!r}")
    return V2Body(tuple(objects), action, object_type, domain)
