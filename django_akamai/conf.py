"""Every ``AKAMAI_*`` setting in one place: defaults, validation, credentials and .edgerc loading.

Credentials are resolved in this order: constructor arguments, then Django settings, then the
edgerc file. A setting (``AKAMAI_CCU_API``) or argument (``api=``) may force one API.
"""

from __future__ import annotations

import configparser
import ipaddress
import os
from dataclasses import dataclass, field
from typing import Any, Literal, overload
from urllib.parse import urlsplit

from .exceptions import (
    AkamaiConfigurationError,
    EdgercError,
    InvalidHostError,
    InvalidPurgeOptions,
    NoAkamaiPasswordProvidedException,
    NoAkamaiUsernameProvidedException,
    PlainHttpHostError,
)

DEFAULTS: dict[str, Any] = {
    # CCU v2 (the original django-akamai 1.0): HTTP Basic auth.
    "AKAMAI_CCUAPI_USERNAME": None,
    "AKAMAI_CCUAPI_PASSWORD": None,
    "AKAMAI_CCUAPI_BASE_URL": "https://api.ccu.akamai.com",
    # Fast Purge v3 (the original's 2.0): EdgeGrid credentials.
    "AKAMAI_CCU_HOST": None,
    "AKAMAI_CCU_CLIENT_TOKEN": None,
    "AKAMAI_CCU_CLIENT_SECRET": None,
    "AKAMAI_CCU_ACCESS_TOKEN": None,
    "AKAMAI_EDGERC_FILENAME": "~/.edgerc",
    "AKAMAI_EDGERC_CCU_SECTION": "CCU",
    # None: chosen from the credentials found; "v2" or "v3" forces one API.
    "AKAMAI_CCU_API": None,
    # Joined to relative paths such as get_absolute_url()'s; a string or a list of them.
    "AKAMAI_BASE_URL": None,
    # Defaults for PurgeRequest.options (action, type, domain/network).
    "AKAMAI_PURGE_OPTIONS": None,
    # HTTP behaviour.
    "AKAMAI_CONNECT_TIMEOUT": 5.0,
    "AKAMAI_READ_TIMEOUT": 30.0,
    "AKAMAI_MAX_RETRIES": 8,
    "AKAMAI_RETRY_BACKOFF": 0.5,
    "AKAMAI_RETRY_BACKOFF_MAX": 30.0,
    "AKAMAI_RETRY_DEADLINE": 600.0,
    # Akamai refuses bodies above 50,000 bytes with 413.
    "AKAMAI_MAX_BODY_BYTES": 50_000,
    # Prepended to every cache tag, on responses and in purges, so sites can share an account.
    "AKAMAI_CACHE_TAG_PREFIX": "",
    # Purge history (django_akamai.history): on/off, objects kept per row, days kept.
    "AKAMAI_HISTORY": True,
    "AKAMAI_HISTORY_MAX_OBJECTS": 1000,
    "AKAMAI_HISTORY_RETENTION_DAYS": 90,
    # Celery (django_akamai.tasks): the queue (None: Celery's default queue), retries of
    # transient failures (the original's 120 s, 5 times) and extra apply_async() options.
    "AKAMAI_CELERY_QUEUE": None,
    "AKAMAI_CELERY_RETRY_DELAY": 120,
    "AKAMAI_CELERY_MAX_RETRIES": 5,
    "AKAMAI_CELERY_TASK_OPTIONS": None,
    # Automatic purging on model changes (django_akamai.autopurge): which models purge what,
    # and whether they queue through Celery by default.
    "AKAMAI_PURGE_MODELS": None,
    "AKAMAI_PURGE_MODELS_QUEUE": False,
    # The purge pipeline (django_akamai.delivery): where recorded purge intents are sent from
    # ("background", "worker" or "celery"), how long a short-lived process waits at exit for
    # its own, and the backoff of an intent after a transient failure.
    "AKAMAI_DELIVERY": "background",
    "AKAMAI_DELIVERY_EXIT_WAIT": 10.0,
    "AKAMAI_DELIVERY_RETRY_BACKOFF": 5.0,
    "AKAMAI_DELIVERY_RETRY_BACKOFF_MAX": 300.0,
    # Site switches (django_akamai.gate): False makes every door a logged no-op; the site's
    # CP codes (akamai_purge --everything); above this many objects, the end of a
    # suspend_purges() block purges those CP codes instead (None: never). 10,000 is the size
    # of Akamai's URL bucket: beyond it, every further URL waits for a token (200 a second).
    "AKAMAI_PURGE_ENABLED": True,
    "AKAMAI_CPCODES": None,
    "AKAMAI_COLLAPSE_THRESHOLD": 10_000,
}

V2_DEFAULT_BASE_URL = DEFAULTS["AKAMAI_CCUAPI_BASE_URL"]
APIS = ("v2", "v3")


def get_setting(name: str) -> Any:
    """The value of an ``AKAMAI_*`` setting, or its default; works without Django settings."""
    from django.conf import settings

    default = DEFAULTS[name]
    if not settings.configured:
        return default
    return getattr(settings, name, default)


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


def normalise_api_host(value: Any, where: str) -> str:
    """An API host as ``scheme://host[:port]``: https unless the host is loopback.

    Accepts a bare host (``akab-x.purge.akamaiapis.net``, Akamai's edgerc form), a trailing
    slash, or an explicit ``https://`` (or ``http://`` to loopback, for the emulator).
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidHostError(
            f"{where}: the API host is empty; expected e.g. 'akab-xxxx.purge.akamaiapis.net'."
        )
    text = value.strip()
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    # First, so that no later message can echo a password written into the URL.
    if parts.username or parts.password:
        raise InvalidHostError(
            f"{where}: the API host must not carry credentials "
            "(user:password@); configure them with their own settings."
        )
    if parts.scheme not in ("http", "https"):
        raise InvalidHostError(
            f"{where}: the API host {value!r} has scheme {parts.scheme!r}; "
            "use a bare host name or https://."
        )
    if not parts.hostname:
        raise InvalidHostError(f"{where}: {value!r} has no host name.")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidHostError(
            f"{where}: the API host {value!r} has a path or query; give only "
            "the host name, e.g. 'akab-xxxx.purge.akamaiapis.net'."
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise PlainHttpHostError(
            f"{where}: plain http is only allowed to loopback hosts "
            f"(the emulator); use https://{parts.netloc} for {parts.hostname}."
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


@dataclass(frozen=True)
class EdgeGridCredentials:
    """Fast Purge v3 credentials. The secret and access token never appear in the repr."""

    host: str
    client_token: str
    client_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    source: str = "arguments"
    max_body: int = 131072
    headers_to_sign: tuple[str, ...] = ()

    api = "v3"


@dataclass(frozen=True)
class BasicCredentials:
    """CCU v2 credentials. The password never appears in the repr."""

    base_url: str
    username: str
    password: str = field(repr=False)
    source: str = "arguments"

    api = "v2"


Credentials = EdgeGridCredentials | BasicCredentials

_V3_SETTINGS = {
    "host": "AKAMAI_CCU_HOST",
    "client_token": "AKAMAI_CCU_CLIENT_TOKEN",
    "client_secret": "AKAMAI_CCU_CLIENT_SECRET",
    "access_token": "AKAMAI_CCU_ACCESS_TOKEN",
}

NO_CREDENTIALS_MESSAGE = (
    "No Akamai credentials found. Configure Fast Purge v3 with the settings AKAMAI_CCU_HOST, "
    "AKAMAI_CCU_CLIENT_TOKEN, AKAMAI_CCU_CLIENT_SECRET and AKAMAI_CCU_ACCESS_TOKEN, or an edgerc "
    "file (AKAMAI_EDGERC_FILENAME, default ~/.edgerc, section AKAMAI_EDGERC_CCU_SECTION, default "
    "'CCU'); or CCU v2 with AKAMAI_CCUAPI_USERNAME and AKAMAI_CCUAPI_PASSWORD. Each may also be "
    "passed to PurgeRequest() as arguments."
)


def _forced_api(api: str | None) -> str | None:
    forced = api if api is not None else get_setting("AKAMAI_CCU_API")
    if forced is None:
        return None
    normalised = str(forced).lower().strip()
    aliases = {
        "v2": "v2",
        "ccu_v2": "v2",
        "ccu": "v2",
        "v3": "v3",
        "fast_purge": "v3",
        "fastpurge": "v3",
    }
    if normalised not in aliases:
        raise InvalidPurgeOptions(
            f"AKAMAI_CCU_API (or api=) is {forced!r}; use 'v3' for Fast "
            "Purge or 'v2' for the retired CCU REST API."
        )
    return aliases[normalised]


def _v2_credentials(
    username: str | None, password: str | None, base_url: str | None, source: str
) -> BasicCredentials:
    username = username or get_setting("AKAMAI_CCUAPI_USERNAME")
    password = password or get_setting("AKAMAI_CCUAPI_PASSWORD")
    if not username:
        raise NoAkamaiUsernameProvidedException(
            "CCU v2 needs a username: pass username= or set AKAMAI_CCUAPI_USERNAME. "
            + NO_CREDENTIALS_MESSAGE
        )
    if not password:
        raise NoAkamaiPasswordProvidedException(
            f"A CCU v2 username ({username!r}) was given without a password: pass password= "
            "or set AKAMAI_CCUAPI_PASSWORD."
        )
    where = "ccu_base_url" if base_url else "AKAMAI_CCUAPI_BASE_URL setting"
    url = normalise_api_host(base_url or get_setting("AKAMAI_CCUAPI_BASE_URL"), where)
    return BasicCredentials(base_url=url, username=username, password=password, source=source)


def _v3_from_values(
    values: dict[str, Any], source: str, names: dict[str, str]
) -> EdgeGridCredentials:
    missing = [names[key] for key in _V3_SETTINGS if not values.get(key)]
    if missing:
        raise AkamaiConfigurationError(
            f"Fast Purge credentials from {source} are incomplete: missing {', '.join(missing)}."
        )
    return EdgeGridCredentials(
        host=normalise_api_host(values["host"], f"{names['host']} ({source})"),
        client_token=str(values["client_token"]).strip(),
        client_secret=str(values["client_secret"]).strip(),
        access_token=str(values["access_token"]).strip(),
        source=source,
    )


def edgerc_location(filename: str | None = None, section: str | None = None) -> tuple[str, str]:
    """The edgerc path (user-expanded) and section to use."""
    path = filename or get_setting("AKAMAI_EDGERC_FILENAME")
    return os.path.expanduser(str(path)), section or get_setting("AKAMAI_EDGERC_CCU_SECTION")


def load_edgerc(filename: str | None = None, section: str | None = None) -> EdgeGridCredentials:
    """Read Fast Purge credentials from an edgerc file; errors name file and section only."""
    from akamai.edgegrid import EdgeRc

    path, section = edgerc_location(filename, section)
    where = f"edgerc file {path} [{section}]"
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise EdgercError(
            f"Cannot read the {where}: the file does not exist or is not readable. "
            "Set AKAMAI_EDGERC_FILENAME to your .edgerc, or use the AKAMAI_CCU_* "
            "settings."
        )
    try:
        rc = EdgeRc(path)
    except (configparser.Error, UnicodeDecodeError) as exc:
        # configparser messages quote line numbers and section names, not values.
        raise EdgercError(
            f"Cannot parse the {where}: {type(exc).__name__} at line {getattr(exc, 'lineno', '?')}."
        ) from None
    if not rc.has_section(section):
        found = ", ".join(rc.sections()) or "none"
        raise EdgercError(
            f"The {where} has no section [{section}] (sections found: {found}). "
            "Set AKAMAI_EDGERC_CCU_SECTION to the right one.",
            problem="section",
        )
    names = {key: f"'{key}' key" for key in _V3_SETTINGS}
    # raw=True: a '%' in a secret is a character, not configparser interpolation (which would
    # fail, quoting part of the secret in its message).
    values = {key: rc.get(section, key, raw=True) for key in _V3_SETTINGS}
    missing = [names[key] for key in _V3_SETTINGS if not values[key]]
    if missing:
        raise EdgercError(f"The {where} lacks {', '.join(missing)}.", problem="key")
    try:
        max_body = rc.getint(section, "max_body", raw=True)
    except ValueError:
        raise EdgercError(f"The {where} has a 'max_body' that is not an integer.") from None
    headers = (rc.get(section, "headers_to_sign", raw=True) or "").split(",")
    creds = _v3_from_values(values, where, names)
    return EdgeGridCredentials(
        host=creds.host,
        client_token=creds.client_token,
        client_secret=creds.client_secret,
        access_token=creds.access_token,
        source=where,
        max_body=max_body,
        headers_to_sign=tuple(h.strip() for h in headers or () if h.strip() and h != "None"),
    )


@overload
def _v3_credentials(
    args: dict[str, Any], edgerc: str | None, section: str | None, *, required: Literal[True]
) -> EdgeGridCredentials: ...
@overload
def _v3_credentials(
    args: dict[str, Any], edgerc: str | None, section: str | None, *, required: bool
) -> EdgeGridCredentials | None: ...
def _v3_credentials(
    args: dict[str, Any], edgerc: str | None, section: str | None, *, required: bool
) -> EdgeGridCredentials | None:
    if any(args.values()):
        return _v3_from_values(args, "arguments", {k: f"{k}=" for k in _V3_SETTINGS})
    if edgerc:
        return load_edgerc(edgerc, section)
    from_settings = {key: get_setting(name) for key, name in _V3_SETTINGS.items()}
    if any(from_settings.values()):
        return _v3_from_values(from_settings, "settings", _V3_SETTINGS)
    path, _ = edgerc_location(edgerc, section)
    explicit = (
        bool(edgerc) or get_setting("AKAMAI_EDGERC_FILENAME") != DEFAULTS["AKAMAI_EDGERC_FILENAME"]
    )
    if required or explicit or os.path.exists(path):
        return load_edgerc(edgerc, section)
    return None


def resolve_credentials(
    *,
    username: str | None = None,
    password: str | None = None,
    ccu_base_url: str | None = None,
    host: str | None = None,
    client_token: str | None = None,
    client_secret: str | None = None,
    access_token: str | None = None,
    edgerc: str | None = None,
    edgerc_section: str | None = None,
    api: str | None = None,
) -> Credentials:
    """Pick the API and its credentials: arguments, then settings, then the edgerc file."""
    v3_args = {
        "host": host,
        "client_token": client_token,
        "client_secret": client_secret,
        "access_token": access_token,
    }
    # Credentials given as arguments choose their API; api= or AKAMAI_CCU_API only decide
    # when the arguments don't (or when api= is passed explicitly).
    has_v2_args, has_v3_args = bool(username or password), any(v3_args.values()) or bool(edgerc)
    forced = _forced_api(api) if api is not None or not (has_v2_args or has_v3_args) else None
    if forced == "v2":
        return _v2_credentials(
            username, password, ccu_base_url, "arguments" if username else "settings"
        )
    if forced == "v3":
        return _v3_credentials(v3_args, edgerc, edgerc_section, required=True)

    if has_v2_args and has_v3_args:
        raise AkamaiConfigurationError(
            "Both CCU v2 (username/password) and Fast Purge (host/tokens) arguments were given; "
            "pass api='v3' or api='v2' to say which to use."
        )
    if has_v2_args:
        return _v2_credentials(username, password, ccu_base_url, "arguments")
    if has_v3_args:
        return _v3_credentials(v3_args, edgerc, edgerc_section, required=True)
    # Settings: Fast Purge wins when both are configured (CCU v2 is retired); a system check
    # warns about the ambiguity.
    if any(get_setting(name) for name in _V3_SETTINGS.values()):
        return _v3_credentials({}, edgerc, edgerc_section, required=True)
    if get_setting("AKAMAI_CCUAPI_USERNAME") or get_setting("AKAMAI_CCUAPI_PASSWORD"):
        return _v2_credentials(None, None, ccu_base_url, "settings")
    found = _v3_credentials({}, edgerc, edgerc_section, required=False)
    if found is None:
        raise NoAkamaiUsernameProvidedException(NO_CREDENTIALS_MESSAGE)
    return found


def base_urls() -> list[str]:
    """``AKAMAI_BASE_URL`` as a list of ``scheme://host`` prefixes (possibly empty)."""
    value = get_setting("AKAMAI_BASE_URL")
    if not value:
        return []
    values = [value] if isinstance(value, str) else list(value)
    result = []
    for item in values:
        parts = urlsplit(str(item).strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AkamaiConfigurationError(
                f"AKAMAI_BASE_URL entry {item!r} must be an absolute http(s) URL such as "
                "'https://www.example.com'."
            )
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            # get_absolute_url() already includes any script prefix, so only the origin is
            # joined; a path here would be doubled.
            raise AkamaiConfigurationError(
                f"AKAMAI_BASE_URL entry {item!r} must be only scheme and host, such as "
                "'https://www.example.com', without a path."
            )
        result.append(f"{parts.scheme}://{parts.netloc}")
    return result


def timeouts() -> tuple[float, float]:
    return float(get_setting("AKAMAI_CONNECT_TIMEOUT")), float(get_setting("AKAMAI_READ_TIMEOUT"))
