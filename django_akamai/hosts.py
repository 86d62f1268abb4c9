"""Host rules, each decided here once: what a host name is, how a non-ASCII one is
encoded, and where plain http may go (loopback only: the emulator).

Used by the settings (API hosts, ``AKAMAI_BASE_URL``), the URL normaliser and the checks.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

import idna

from .exceptions import InvalidHostError, PlainHttpHostError

__all__ = ["HOSTNAME", "idna_host", "is_loopback", "normalise_api_host", "plain_http_host"]

#: A DNS host name, lower case (underscores too: some CDNs' names carry them).
HOSTNAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$")


def idna_host(host: str) -> str:
    """A non-ASCII host name as browsers and Akamai's edge send it: IDNA 2008 with UTS 46
    mapping, non-transitional (``faß.de`` is ``xn--fa-hia.de``, not IDNA 2003's ``fass.de``).

    Raises ``idna.IDNAError`` (a ``UnicodeError``) for a name no browser can resolve.
    """
    return idna.encode(host, uts46=True, transitional=False).decode("ascii")


def plain_http_host(value: Any) -> str | None:
    """The host name when ``value`` is an http:// address to a non-loopback host."""
    if not isinstance(value, str) or not value.strip().lower().startswith("http://"):
        return None
    try:
        host = urlsplit(value.strip()).hostname
    except ValueError:
        return None
    return None if is_loopback(host) else (host or value)


def is_loopback(hostname: str | None) -> bool:
    """True for localhost and loopback IPs: the only hosts plain http may go to."""
    if not hostname:
        return False
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


_SCHEME_WITHOUT_SLASHES = re.compile(r"^(https?):(?!//)", re.IGNORECASE)


def normalise_api_host(value: Any, where: str) -> str:
    """An API host as ``scheme://host[:port]``: https unless the host is loopback.

    Accepts a bare host (``akab-x.purge.akamaiapis.net``, Akamai's edgerc form), a trailing
    slash, or an explicit ``https://`` (or ``http://`` to loopback, for the emulator). What
    cannot work is refused here, where the credentials are loaded, rather than on the first
    purge: a port that is not a number (``h:notaport``), a scheme without ``//``
    (``http:evil.com``), and a loopback host without a scheme (``localhost:8765``: https would
    meet the emulator's plain http and fail its TLS handshake).
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidHostError(
            f"{where}: the API host is empty; expected e.g. 'akab-xxxx.purge.akamaiapis.net'."
        )
    text = value.strip()
    if "@" in text:
        # First, so that no message can echo a password written into the URL (an API host
        # never has an "@").
        raise InvalidHostError(
            f"{where}: the API host must not carry credentials "
            "(user:password@); configure them with their own settings."
        )
    shown = repr(text)
    missing_slashes = _SCHEME_WITHOUT_SLASHES.match(text)
    if missing_slashes:
        scheme = missing_slashes.group(1).lower()
        raise InvalidHostError(
            f"{where}: the API host {shown} has {scheme}: without '//', so it would be read as "
            f"a host named {scheme!r} with a port; write {scheme}://<host> or the bare host name."
        )
    explicit_scheme = "://" in text
    if not explicit_scheme:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise InvalidHostError(
            f"{where}: the API host {shown} has scheme {parts.scheme!r}; "
            "use a bare host name or https://."
        )
    if not parts.hostname:
        raise InvalidHostError(f"{where}: {shown} has no host name.")
    try:
        parts.port  # noqa: B018  (raises for a port that is not a number)
    except ValueError:
        port_text = parts.netloc.rpartition(":")[2]
        raise InvalidHostError(
            f"{where}: the API host {shown} has the port {port_text!r}, which is not a number "
            "from 1 to 65535; give the bare host name, or host:port."
        ) from None
    host = parts.hostname
    if ":" not in host and not HOSTNAME.match(host):
        raise InvalidHostError(
            f"{where}: {host!r} in the API host {shown} is not a host name (letters, digits, "
            "'-' and '.'); Akamai's look like 'akab-xxxx.purge.akamaiapis.net'."
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidHostError(
            f"{where}: the API host {shown} has a path or query; give only "
            "the host name, e.g. 'akab-xxxx.purge.akamaiapis.net'."
        )
    if parts.scheme == "http" and not is_loopback(host):
        raise PlainHttpHostError(
            f"{where}: plain http is only allowed to loopback hosts "
            f"(the emulator); use https://{parts.netloc} for {host}."
        )
    if not explicit_scheme and is_loopback(host):
        raise InvalidHostError(
            f"{where}: the API host {shown} has no scheme, so https would be used, but it is a "
            f"loopback host, where the emulator serves plain http; write http://{parts.netloc} "
            f"(or https://{parts.netloc} if a TLS server listens there)."
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"
