"""The emulator's own credentials: generated in Akamai's shapes, written to an edgerc section."""

from __future__ import annotations

import base64
import os
import re
import secrets
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path

_ALPHABET = string.ascii_lowercase + string.digits
_EDGERC_KEYS = ("host", "client_token", "client_secret", "access_token")
_SECTION = re.compile(r"\s*\[([^\]]*)\]\s*(?:[#;].*)?$")
_KEY = re.compile(r"\s*([A-Za-z0-9_-]+)\s*[=:]")


@dataclass(frozen=True)
class EmulatorCredentials:
    """Everything a client needs to talk to one emulator; secrets stay out of ``repr``."""

    host: str  # the emulator's base URL, the value for AKAMAI_CCU_HOST
    client_token: str
    client_secret: str
    access_token: str
    username: str
    password: str

    def __repr__(self) -> str:
        return (
            f"EmulatorCredentials(host={self.host!r}, client_token={self.client_token!r}, "
            f"client_secret=<redacted>, access_token=<redacted>, username={self.username!r}, "
            "password=<redacted>)"
        )


def _akab_token() -> str:
    # Akamai tokens look like "akab-" + 20 and 16 lowercase alphanumerics.
    first = "".join(secrets.choice(_ALPHABET) for _ in range(20))
    second = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return f"akab-{first}-{second}"


def generate_credentials(
    host: str,
    *,
    client_token: str | None = None,
    client_secret: str | None = None,
    access_token: str | None = None,
    username: str | None = None,
    password: str | None = None,
) -> EmulatorCredentials:
    """Fill in whatever was not given with fresh random values shaped like Akamai's."""
    return EmulatorCredentials(
        host=host,
        client_token=client_token or _akab_token(),
        # 32 random bytes in base64: 44 characters ending in "=", like Akamai's secrets.
        client_secret=client_secret or base64.b64encode(secrets.token_bytes(32)).decode(),
        access_token=access_token or _akab_token(),
        username=username or f"emulator-{secrets.token_hex(4)}",
        password=password or secrets.token_urlsafe(18),
    )


def _section_lines(credentials: EmulatorCredentials) -> list[str]:
    return [
        f"host = {credentials.host}\n",
        f"client_token = {credentials.client_token}\n",
        f"client_secret = {credentials.client_secret}\n",
        f"access_token = {credentials.access_token}\n",
    ]


def render_edgerc(existing: str, section: str, credentials: EmulatorCredentials) -> str:
    """``existing`` with ``[section]`` holding these credentials; every other line is kept
    as it was (other sections, comments, and the section's other keys like ``max_body``)."""
    lines = existing.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    out: list[str] = []
    current: str | None = None
    found = False
    for line in lines:
        header = _SECTION.match(line)
        if header:
            current = header.group(1).strip()
            out.append(line)
            if current == section and not found:
                found = True
                out.extend(_section_lines(credentials))
            continue
        key = _KEY.match(line)
        if current == section and key and key.group(1).replace("-", "_") in _EDGERC_KEYS:
            continue  # replaced by the lines written under the header
        out.append(line)
    if not found:
        if out and out[-1].strip():
            out.append("\n")
        out.append(f"[{section}]\n")
        out.extend(_section_lines(credentials))
    return "".join(out)


def write_edgerc(
    path: str | os.PathLike[str], section: str, credentials: EmulatorCredentials
) -> Path:
    """Create or update ``path`` atomically, readable only by its owner (it holds secrets)."""
    target = Path(path).expanduser()
    existing = target.read_text(encoding="utf-8") if target.exists() else ""
    text = render_edgerc(existing, section, credentials)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".edgerc-", text=True)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
