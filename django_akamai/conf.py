"""Every ``AKAMAI_*`` setting in one place: defaults, validation, credentials and .edgerc loading.

Credentials are resolved in this order: constructor arguments, then Django settings, then the
edgerc file. A setting (``AKAMAI_CCU_API``) or argument (``api=``) may force one API.
"""

from __future__ import annotations

import configparser
import dataclasses
import functools
import hmac
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, overload
from urllib.parse import urlsplit

from django.conf import settings
from django.core.signals import setting_changed
from django.views.decorators.debug import sensitive_variables

from .exceptions import (
    AkamaiConfigurationError,
    EdgercError,
    InvalidPurgeOptions,
    NoAkamaiPasswordProvidedException,
    NoAkamaiUsernameProvidedException,
)
from .hosts import normalise_api_host

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
    "AKAMAI_TASKS_OPTIONS": None,
    # Automatic purging on model changes (django_akamai.autopurge): which models purge what,
    # and whether they queue through Celery by default.
    "AKAMAI_PURGE_MODELS": None,
    "AKAMAI_PURGE_MODELS_QUEUE": False,
    # The purge pipeline (django_akamai.delivery): where recorded purge intents are sent from
    # ("background", "worker" or "celery"), how long the background deliverer gathers commits
    # into one delivery, how long a short-lived process waits at exit for its own, and the
    # backoff of an intent after a transient failure.
    "AKAMAI_DELIVERY": "background",
    "AKAMAI_DELIVERY_DELAY": 1.0,
    "AKAMAI_DELIVERY_EXIT_WAIT": 10.0,
    "AKAMAI_DELIVERY_LEASE_SECONDS": None,
    "AKAMAI_DELIVERY_RETRY_BACKOFF": 5.0,
    "AKAMAI_DELIVERY_RETRY_BACKOFF_MAX": 300.0,
    # How often a process's delivery thread looks for due intents with no kick (the bound on
    # a skipped kick, a killed process, a restart).
    "AKAMAI_DELIVERY_SWEEP_SECONDS": 10.0,
    # Days a failed purge intent is kept before akamai_prune_history deletes it.
    "AKAMAI_FAILED_INTENT_RETENTION_DAYS": 30,
    # Site switches (django_akamai.switches): False makes every door a logged no-op; the site's
    # CP codes (akamai_purge --everything); above this many objects, the end of a
    # suspend_purges() block purges those CP codes instead (None: never). 10,000 is the size
    # of Akamai's URL bucket: beyond it, every further URL waits for a token (200 a second).
    "AKAMAI_PURGE_ENABLED": True,
    "AKAMAI_CPCODES": None,
    "AKAMAI_COLLAPSE_THRESHOLD": 10_000,
    # Verification at the edge (django_akamai.verification): a dict of options, None: off.
    # The second purge against races: seconds after the first (None: off).
    "AKAMAI_VERIFY": None,
    "AKAMAI_SECOND_PURGE_SECONDS": None,
    # Named Akamai accounts beside the default one (the settings above): each with its own
    # credentials and the URL hosts it purges (see ``accounts()``).
    "AKAMAI_ACCOUNTS": None,
}


@dataclass(frozen=True)
class Spec:
    """What one ``AKAMAI_*`` setting may hold: the one validated entry per setting.

    ``kind`` is ``"number"`` (``number`` is int or float, at least ``minimum``), ``"bool"``,
    ``"text"``, ``"mapping"`` (a dict) or ``"list"`` (a list or tuple); ``optional`` allows
    ``None``. ``secret`` settings are never quoted. ``check`` is the system check id that
    reports a bad value; ``more`` names the function that validates the value further (the
    credentials, URL and option settings, whose rules live with the code that uses them):
    that function's own check reports it, so the type is checked here only.
    """

    kind: str
    number: type = float
    minimum: float = 0
    optional: bool = False
    secret: bool = False
    check: str = "django_akamai.E013"
    more: str = ""


def _number(kind: type, minimum: float, *, optional: bool = False, check: str = "") -> Spec:
    return Spec("number", kind, minimum, optional, check=check or "django_akamai.E011")


_CREDENTIAL = Spec("text", optional=True, check="django_akamai.E004", more="resolve_credentials")
_SECRET = dataclasses.replace(_CREDENTIAL, secret=True)

#: Every ``AKAMAI_*`` setting of ``DEFAULTS`` and what it may hold (a test keeps both in step).
SPECS: dict[str, Spec] = {
    "AKAMAI_CCUAPI_USERNAME": _CREDENTIAL,
    "AKAMAI_CCUAPI_PASSWORD": _SECRET,
    "AKAMAI_CCUAPI_BASE_URL": dataclasses.replace(_CREDENTIAL, optional=False),
    "AKAMAI_CCU_HOST": _CREDENTIAL,
    "AKAMAI_CCU_CLIENT_TOKEN": _CREDENTIAL,
    "AKAMAI_CCU_CLIENT_SECRET": _SECRET,
    "AKAMAI_CCU_ACCESS_TOKEN": _SECRET,
    # Read when no AKAMAI_CCU_* setting is set; the edgerc checks name what is wrong with them.
    "AKAMAI_EDGERC_FILENAME": Spec(
        "path", optional=True, check="django_akamai.E001", more="load_edgerc"
    ),
    "AKAMAI_EDGERC_CCU_SECTION": Spec("text", check="django_akamai.E002", more="load_edgerc"),
    "AKAMAI_CCU_API": Spec("text", optional=True, check="django_akamai.E004", more="forced_api"),
    "AKAMAI_BASE_URL": Spec(
        "text_or_list", optional=True, check="django_akamai.E007", more="base_urls"
    ),
    "AKAMAI_PURGE_OPTIONS": Spec(
        "mapping", optional=True, check="django_akamai.E005", more="options.parse_options"
    ),
    "AKAMAI_CONNECT_TIMEOUT": _number(float, 0.001),
    "AKAMAI_READ_TIMEOUT": _number(float, 0.001),
    "AKAMAI_MAX_RETRIES": _number(int, 0),
    "AKAMAI_RETRY_BACKOFF": _number(float, 0),
    "AKAMAI_RETRY_BACKOFF_MAX": _number(float, 0),
    "AKAMAI_RETRY_DEADLINE": _number(float, 0.001),
    # A request body must hold at least one short object.
    "AKAMAI_MAX_BODY_BYTES": _number(int, 100),
    "AKAMAI_CACHE_TAG_PREFIX": Spec("text", optional=True),
    "AKAMAI_HISTORY": Spec("bool", check="django_akamai.E009"),
    "AKAMAI_HISTORY_MAX_OBJECTS": _number(int, 0, optional=True, check="django_akamai.E009"),
    "AKAMAI_HISTORY_RETENTION_DAYS": _number(float, 0, optional=True, check="django_akamai.E009"),
    "AKAMAI_CELERY_QUEUE": Spec("text", optional=True),
    "AKAMAI_CELERY_RETRY_DELAY": _number(float, 0),
    "AKAMAI_CELERY_MAX_RETRIES": _number(int, 0),
    "AKAMAI_CELERY_TASK_OPTIONS": Spec("mapping", optional=True),
    "AKAMAI_TASKS_OPTIONS": Spec("mapping", optional=True),
    # Its own rules (the options' keys, http only to loopback) live with verification.
    "AKAMAI_VERIFY": Spec(
        "mapping", optional=True, check="django_akamai.E015", more="verification.verify_options"
    ),
    # Seconds after the first purge; above 0.
    "AKAMAI_SECOND_PURGE_SECONDS": _number(float, 0.001, optional=True, check="django_akamai.E015"),
    "AKAMAI_PURGE_MODELS": Spec("mapping_or_list", optional=True, more="autopurge.load"),
    # Deprecated: changes nothing (W007 says so).
    "AKAMAI_PURGE_MODELS_QUEUE": Spec("bool"),
    # Its names are delivery.MODES, which other modules may extend: delivery.mode() checks it.
    "AKAMAI_DELIVERY": Spec("text", check="django_akamai.E010", more="delivery.mode"),
    "AKAMAI_DELIVERY_DELAY": _number(float, 0),
    "AKAMAI_DELIVERY_EXIT_WAIT": _number(float, 0),
    # Shorter than a second, every deliverer would take every other's lease mid-request.
    "AKAMAI_DELIVERY_LEASE_SECONDS": _number(float, 1, optional=True),
    "AKAMAI_DELIVERY_RETRY_BACKOFF": _number(float, 0),
    "AKAMAI_DELIVERY_RETRY_BACKOFF_MAX": _number(float, 0),
    "AKAMAI_DELIVERY_SWEEP_SECONDS": _number(float, 0.1),
    "AKAMAI_FAILED_INTENT_RETENTION_DAYS": _number(float, 0, optional=True),
    "AKAMAI_PURGE_ENABLED": Spec("bool"),
    "AKAMAI_CPCODES": Spec(
        "list", optional=True, check="django_akamai.E012", more="funnel.site_cpcodes"
    ),
    "AKAMAI_COLLAPSE_THRESHOLD": _number(int, 0, optional=True, check="django_akamai.E012"),
    "AKAMAI_ACCOUNTS": Spec("mapping", optional=True, check="django_akamai.E014", more="accounts"),
}

#: The numeric settings: int or float, and the smallest value that works.
NUMBER_SETTINGS: dict[str, tuple[type, float]] = {
    name: (spec.number, spec.minimum) for name, spec in SPECS.items() if spec.kind == "number"
}

V2_DEFAULT_BASE_URL = DEFAULTS["AKAMAI_CCUAPI_BASE_URL"]
APIS = ("v2", "v3")


# What each setting read, and validated, for the life of the process: a setting that is not
# set costs Django an AttributeError on every read, and a save reads several. Settings do not
# change while a process runs (Django's rule); when a test overrides one, ``setting_changed``
# empties both.
_read: dict[str, Any] = {}
_validated: dict[str, Any] = {}
_derived: dict[str, Any] = {}


def _forget(**kwargs: Any) -> None:
    _read.clear()
    _validated.clear()
    _derived.clear()


_R = TypeVar("_R")


def per_settings(compute: Callable[[], _R]) -> Callable[[], _R]:
    """``compute()`` (a value derived from settings alone) once per process, forgotten with
    the settings it was read from; an error is raised again at every call, never kept."""
    name = compute.__qualname__

    @functools.wraps(compute)
    def derived() -> _R:
        try:
            return _derived[name]
        except KeyError:
            value = _derived[name] = compute()
            return value

    return derived


setting_changed.connect(_forget, dispatch_uid=f"{__name__}._forget")


def get_setting(name: str) -> Any:
    """The value of an ``AKAMAI_*`` setting as configured, or its default, unvalidated (for
    the checks and the credentials, which say themselves what is wrong); works without
    Django settings. Everything else reads ``setting()``."""
    if name in _read:
        return _read[name]
    default = DEFAULTS[name]
    if not settings.configured:
        return default
    value = _read[name] = getattr(settings, name, default)
    return value


def setting(name: str) -> Any:
    """An ``AKAMAI_*`` setting, validated against its ``SPECS`` entry: a number as its int or
    float (a string of digits, read from the environment, say, as its number), a bool as a
    bool; or ``AkamaiConfigurationError`` naming the setting (where ``int("eight")`` would
    raise a bare ``ValueError`` on the first purge)."""
    if name in _validated:
        return _validated[name]
    value = get_setting(name)
    problem = setting_problem(name, value)
    if problem:
        raise AkamaiConfigurationError(f"{name} {problem}.")
    spec = SPECS[name]
    if value is not None:
        if spec.kind == "number":
            value = _as_number(value, spec.number)
        elif spec.kind == "bool":
            value = bool(value)
    _validated[name] = value
    return value


#: The name the numeric settings were read with before every setting had an entry.
number_setting = setting


_KIND_WORDS = {
    "bool": "True or False",
    "text": "a string",
    "path": "a file path",
    "mapping": "a dict",
    "list": "a list",
    "text_or_list": "a string or a list of strings",
    "mapping_or_list": "a dict or a list",
}


def setting_problem(name: str, value: Any) -> str | None:
    """What is wrong with ``value`` for setting ``name`` (its type, range or form), or
    ``None``. A secret setting's value is never quoted."""
    spec = SPECS[name]
    if value is None:
        return None if spec.optional else f"is None; expected {_expected(spec)}"
    if spec.kind == "number":
        return number_problem(value, spec.number, spec.minimum)
    if _fits(spec.kind, value):
        return None
    shown = f"a {type(value).__name__}" if spec.secret else repr(value)
    if len(shown) > 80:
        shown = f"a {type(value).__name__}"
    return f"is {shown}; expected {_expected(spec)}"


def _expected(spec: Spec) -> str:
    what = _KIND_WORDS.get(spec.kind, spec.kind)
    return f"{what} or None" if spec.optional else what


def _fits(kind: str, value: Any) -> bool:
    if kind == "bool":
        # 0 and 1 are how some settings loaders spell them; "false" is truthy: refused.
        return isinstance(value, bool) or (type(value) is int and value in (0, 1))
    if kind == "text":
        return isinstance(value, str)
    if kind == "path":
        return isinstance(value, (str, os.PathLike))
    if kind == "mapping":
        return isinstance(value, dict)
    if kind == "list":
        return isinstance(value, (list, tuple))
    if kind == "text_or_list":
        return isinstance(value, str) or isinstance(value, (list, tuple))
    return isinstance(value, (dict, list, tuple))  # mapping_or_list


def _as_number(value: Any, kind: type) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip()) if value.strip().isascii() else None
        except ValueError:
            return None
    if isinstance(value, int):
        return value if kind is int or abs(value) < 2**53 else None
    if not isinstance(value, float) or value != value or abs(value) == float("inf"):
        return None
    if kind is int:
        return int(value) if value.is_integer() else None
    return value


def number_problem(value: Any, kind: type, minimum: float) -> str | None:
    """What is wrong with a numeric setting's value, or ``None``."""
    number = _as_number(value, kind)
    if number is None or number < minimum:
        what = "a whole number" if kind is int else "a number"
        shown = repr(value) if not isinstance(value, int) or number is not None else "too large"
        if len(shown) > 80:
            shown = (
                f"a {type(value).__name__} of {len(value)} characters"
                if isinstance(value, str)
                else f"a {type(value).__name__}"
            )
        return f"is {shown}; expected {what} >= {minimum:g}"
    return None


# --- secrets ----------------------------------------------------------------------------


class Secret:
    """A password, client secret or access token that does not show itself.

    ``repr()`` and ``str()`` hide the value, so a secret held in a local variable, a
    dataclass or a dict is safe on Django's debug page (which shows every frame's locals,
    with ``DEBUG = True`` even those ``sensitive_variables`` names) and in a log argument;
    pickling refuses it. ``reveal()`` is called only where the value is used.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("A Secret is not pickled: that would write it out in clear.")


def hide(value: Any) -> Any:
    """A str as a ``Secret``; a ``Secret``, ``None`` or another value as given."""
    return Secret(value) if isinstance(value, str) else value


def reveal(value: Any) -> Any:
    """The clear value of a ``Secret``; anything else as given."""
    return value.reveal() if isinstance(value, Secret) else value


# What Akamai's credentials are made of. EdgeGrid tokens go into the Authorization header
# between ';' separators: printable ASCII, no space, no ';'. Client secrets are base64 (printable
# ASCII). Basic auth carries any text except control and invisible characters (a ':' ends the
# user name). Anything else is a copy-and-paste accident (a zero-width space, a wrapped line).
_TOKEN = re.compile(r"[!-:<-~]+")
_PRINTABLE_ASCII = re.compile(r"[!-~]+")
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _credential_problem(value: Any, kind: str) -> str | None:
    """What is wrong with a credential's characters, in words that never quote it."""
    if isinstance(value, Secret):
        value = value.reveal()
    if not isinstance(value, str):
        return f"is a {type(value).__name__}, not a string"
    if "\n" in value or "\r" in value:
        return (
            "spans more than one line (in an edgerc file, an indented line after a key "
            "continues its value): put the whole value on one line"
        )
    if kind == "password" or kind == "username":
        for char in value:
            if unicodedata.category(char) in _INVISIBLE:
                return (
                    f"contains an invisible or control character ({_char_name(char)}), "
                    "usually picked up when copying it; type it again"
                )
        if kind == "username" and ":" in value:
            return "contains ':', which HTTP Basic authentication cannot carry in a user name"
        return None
    pattern = _PRINTABLE_ASCII if kind == "secret" else _TOKEN
    if pattern.fullmatch(value):
        return None
    for char in value:
        if not pattern.fullmatch(char):
            if unicodedata.category(char) in _INVISIBLE or char.isspace():
                what = f"an invisible, space or control character ({_char_name(char)})"
            elif not char.isascii():
                what = "a character outside ASCII"
            else:
                what = f"the character {char!r}"
            break
    allowed = "base64 (A-Z, a-z, 0-9, +, /, =)" if kind == "secret" else "printable ASCII"
    return (
        f"contains {what}; Akamai's are {allowed}: copy it again from the API client's "
        "credentials in Control Center"
    )


def _char_name(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, '')}".strip()


@sensitive_variables()
def _checked(value: Any, where: str, kind: str) -> Any:
    """``value`` (stripped, a ``Secret`` unless it is the client token or user name), or
    ``AkamaiConfigurationError`` naming ``where`` and never the value."""
    secret = hide(value.strip() if isinstance(value, str) and kind != "password" else value)
    del value  # no frame of a traceback from here holds the clear value
    problem = None if secret is None else _credential_problem(secret, kind)
    if problem:
        raise AkamaiConfigurationError(f"{where} {problem}.")
    if kind in ("client_token", "username"):
        return reveal(secret)
    return secret


@dataclass(frozen=True)
class EdgeGridCredentials:
    """Fast Purge v3 credentials. The secret and access token are ``Secret`` objects: hidden in
    reprs, tracebacks and debug pages."""

    host: str
    client_token: str
    client_secret: Secret = field(repr=False)
    access_token: Secret = field(repr=False)
    source: str = "arguments"
    max_body: int = 131072
    headers_to_sign: tuple[str, ...] = ()

    api = "v3"

    def __post_init__(self) -> None:
        # Built by hand with plain strings (tests, custom loaders): held hidden all the same.
        object.__setattr__(self, "client_secret", hide(self.client_secret))
        object.__setattr__(self, "access_token", hide(self.access_token))


@dataclass(frozen=True)
class BasicCredentials:
    """CCU v2 credentials. The password is a ``Secret``."""

    base_url: str
    username: str
    password: Secret = field(repr=False)
    source: str = "arguments"

    api = "v2"

    def __post_init__(self) -> None:
        object.__setattr__(self, "password", hide(self.password))


Credentials = EdgeGridCredentials | BasicCredentials

_V3_SETTINGS = {
    "host": "AKAMAI_CCU_HOST",
    "client_token": "AKAMAI_CCU_CLIENT_TOKEN",
    "client_secret": "AKAMAI_CCU_CLIENT_SECRET",
    "access_token": "AKAMAI_CCU_ACCESS_TOKEN",
}
# How each credential is checked and held: the client token is not secret (it names the API
# client in every signed header); the access token and the client secret are.
_V3_KINDS = {"client_token": "client_token", "client_secret": "secret", "access_token": "token"}
_V3_SECRETS = ("client_secret", "access_token")

NO_CREDENTIALS_MESSAGE = (
    "No Akamai credentials found. Configure Fast Purge v3 with the settings AKAMAI_CCU_HOST, "
    "AKAMAI_CCU_CLIENT_TOKEN, AKAMAI_CCU_CLIENT_SECRET and AKAMAI_CCU_ACCESS_TOKEN, or an edgerc "
    "file (AKAMAI_EDGERC_FILENAME, default ~/.edgerc, section AKAMAI_EDGERC_CCU_SECTION, default "
    "'CCU'); or CCU v2 with AKAMAI_CCUAPI_USERNAME and AKAMAI_CCUAPI_PASSWORD. Each may also be "
    "passed to PurgeRequest() as arguments."
)


def forced_api(api: str | None) -> str | None:
    """``api=`` or ``AKAMAI_CCU_API``: "v2", "v3" or None (not forced), aliases resolved."""
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


def _secret_setting(name: str) -> Any:
    """A setting that holds a secret, as a ``Secret`` from the moment it is read."""
    return hide(get_setting(name))


@sensitive_variables("password")
def _v2_credentials(
    username: str | None, password: Any, base_url: str | None, source: str
) -> BasicCredentials:
    password = hide(password) or _secret_setting("AKAMAI_CCUAPI_PASSWORD")
    from_arguments = bool(username)
    username = username or get_setting("AKAMAI_CCUAPI_USERNAME")
    if not username:
        raise NoAkamaiUsernameProvidedException(
            "CCU v2 needs a username: pass username= or set AKAMAI_CCUAPI_USERNAME. "
            + NO_CREDENTIALS_MESSAGE
        )
    username = _checked(
        username, "username=" if from_arguments else "AKAMAI_CCUAPI_USERNAME", "username"
    )
    if not password:
        raise NoAkamaiPasswordProvidedException(
            f"A CCU v2 username ({username!r}) was given without a password: pass password= "
            "or set AKAMAI_CCUAPI_PASSWORD."
        )
    where_password = "password=" if from_arguments or source == "arguments" else None
    password = _checked(password, where_password or "AKAMAI_CCUAPI_PASSWORD", "password")
    where = "ccu_base_url" if base_url else "AKAMAI_CCUAPI_BASE_URL setting"
    url = normalise_api_host(base_url or get_setting("AKAMAI_CCUAPI_BASE_URL"), where)
    return BasicCredentials(base_url=url, username=username, password=password, source=source)


@sensitive_variables("values")
def _v3_from_values(
    values: dict[str, Any], source: str, names: dict[str, str]
) -> EdgeGridCredentials:
    """EdgeGrid credentials from four values (secrets already ``Secret`` objects or plain str)."""
    missing = [names[key] for key in _V3_SETTINGS if not values.get(key)]
    if missing:
        raise AkamaiConfigurationError(
            f"Fast Purge credentials from {source} are incomplete: missing {', '.join(missing)}."
        )
    checked = {
        key: _checked(values[key], f"{names[key]} ({source})", kind)
        for key, kind in _V3_KINDS.items()
    }
    return EdgeGridCredentials(
        host=normalise_api_host(values["host"], f"{names['host']} ({source})"),
        source=source,
        **checked,
    )


def edgerc_location(filename: str | None = None, section: str | None = None) -> tuple[str, str]:
    """The edgerc path (user-expanded) and section to use."""
    path = filename or get_setting("AKAMAI_EDGERC_FILENAME")
    return os.path.expanduser(str(path)), section or get_setting("AKAMAI_EDGERC_CCU_SECTION")


@sensitive_variables()
def load_edgerc(filename: str | None = None, section: str | None = None) -> EdgeGridCredentials:
    """Read Fast Purge credentials from an edgerc file; errors name file and section only.

    No error raised here chains to (``__context__``) an exception of configparser or
    ``int()``: their messages quote the line or value, which may be a secret.
    """
    from akamai.edgegrid import EdgeRc

    path, section = edgerc_location(filename, section)
    where = f"edgerc file {path} [{section}]"
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise EdgercError(
            f"Cannot read the {where}: the file does not exist or is not readable. "
            "Set AKAMAI_EDGERC_FILENAME to your .edgerc, or use the AKAMAI_CCU_* "
            "settings."
        )
    unparsable = None
    try:
        rc = EdgeRc(path)
    except (configparser.Error, UnicodeDecodeError) as exc:
        # configparser messages quote the offending line; keep only its kind and number.
        unparsable = f"{type(exc).__name__} at line {getattr(exc, 'lineno', '?')}"
    if unparsable:
        raise EdgercError(f"Cannot parse the {where}: {unparsable}.")
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
    values = {
        key: hide(rc.get(section, key, raw=True))
        if key in _V3_SECRETS
        else rc.get(section, key, raw=True)
        for key in _V3_SETTINGS
    }
    missing = [names[key] for key in _V3_SETTINGS if not values[key]]
    if missing:
        raise EdgercError(f"The {where} lacks {', '.join(missing)}.", problem="key")
    max_body = _int_or_none(rc.get(section, "max_body", raw=True))
    if max_body is None:
        raise EdgercError(f"The {where} has a 'max_body' that is not a positive integer.")
    headers = (rc.get(section, "headers_to_sign", raw=True) or "").split(",")
    return dataclasses.replace(
        _v3_from_values(values, where, names),
        max_body=max_body,
        headers_to_sign=tuple(h.strip() for h in headers if h.strip() and h != "None"),
    )


def _int_or_none(text: str | None) -> int | None:
    """A positive integer from ASCII digits, without int()'s message (it quotes the text)."""
    text = (text or "").strip()
    if text.isascii() and text.isdigit() and len(text) < 19 and int(text) > 0:
        return int(text)
    return None


@overload
def _v3_credentials(
    args: dict[str, Any], edgerc: str | None, section: str | None, *, required: Literal[True]
) -> EdgeGridCredentials: ...
@overload
def _v3_credentials(
    args: dict[str, Any], edgerc: str | None, section: str | None, *, required: bool
) -> EdgeGridCredentials | None: ...
@sensitive_variables("args")
def _v3_credentials(
    args: dict[str, Any], edgerc: str | None, section: str | None, *, required: bool
) -> EdgeGridCredentials | None:
    if any(args.values()):
        return _v3_from_values(args, "arguments", {k: f"{k}=" for k in _V3_SETTINGS})
    if edgerc:
        return load_edgerc(edgerc, section)
    from_settings = {
        key: _secret_setting(name) if key in _V3_SECRETS else get_setting(name)
        for key, name in _V3_SETTINGS.items()
    }
    if any(from_settings.values()):
        return _v3_from_values(from_settings, "settings", _V3_SETTINGS)
    path, _ = edgerc_location(edgerc, section)
    explicit = (
        bool(edgerc) or get_setting("AKAMAI_EDGERC_FILENAME") != DEFAULTS["AKAMAI_EDGERC_FILENAME"]
    )
    if required or explicit or os.path.exists(path):
        return load_edgerc(edgerc, section)
    return None


# --- named accounts (AKAMAI_ACCOUNTS) ---------------------------------------------------

#: The name that means the default account (today's ``AKAMAI_*`` credentials), wherever an
#: account is named; ``None`` means it too.
DEFAULT_ACCOUNT = "default"

#: The credential keys of a named account: the single account's settings without their
#: ``AKAMAI_CCU_`` (host and tokens) or ``AKAMAI_`` (edgerc) prefix. Fast Purge v3 only.
ACCOUNT_CREDENTIAL_KEYS = {
    "HOST": "host",
    "CLIENT_TOKEN": "client_token",
    "CLIENT_SECRET": "client_secret",
    "ACCESS_TOKEN": "access_token",
}
ACCOUNT_EDGERC_KEYS = ("EDGERC_FILENAME", "EDGERC_SECTION")
ACCOUNT_KEYS = (*ACCOUNT_CREDENTIAL_KEYS, *ACCOUNT_EDGERC_KEYS, "HOSTNAMES")
_ACCOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Account:
    """One named account of ``AKAMAI_ACCOUNTS``: its name, the URL hosts it purges and its
    settings (credentials read only by ``resolve_credentials(account=name)``)."""

    name: str
    hostnames: tuple[str, ...]
    settings: dict[str, Any] = field(repr=False, compare=False, hash=False)


def _where(name: Any, key: str | None = None) -> str:
    return f"AKAMAI_ACCOUNTS[{name!r}]" + (f"[{key!r}]" if key else "")


def _hostname_problem(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"is {value!r}; expected a host name such as 'www.example.com'"
    if "/" in value or " " in value.strip() or "@" in value:
        return (
            f"is {value!r}; give the host only (e.g. 'www.example.com' or "
            "'127.0.0.1:8000'), without a scheme or path"
        )
    return None


def accounts() -> dict[str, Account]:
    """``AKAMAI_ACCOUNTS`` validated: each named account by name (empty when not set).

    ``AkamaiConfigurationError`` names the account and the key: a name that is not a plain
    word, an unknown key, ``HOSTNAMES`` that is not a list of host names, a host two accounts
    claim, credential values that are not strings (their values are never quoted).
    """
    return dict(_accounts())


def _read_accounts() -> dict[str, Account]:
    value = get_setting("AKAMAI_ACCOUNTS")
    if not value:
        return {}
    if not isinstance(value, dict):
        raise AkamaiConfigurationError(
            f"AKAMAI_ACCOUNTS is a {type(value).__name__}; expected a dict of account name -> "
            "{'EDGERC_SECTION': ..., 'HOSTNAMES': [...]}."
        )
    found: dict[str, Account] = {}
    owners: dict[str, str] = {}
    for name, config in value.items():
        if not isinstance(name, str) or not _ACCOUNT_NAME.fullmatch(name):
            raise AkamaiConfigurationError(
                f"AKAMAI_ACCOUNTS: the account name {name!r} must be a word of letters, digits, "
                "'-', '_' or '.' (at most 64), such as 'brand-b'."
            )
        if name == DEFAULT_ACCOUNT:
            raise AkamaiConfigurationError(
                f"AKAMAI_ACCOUNTS: {name!r} names the default account (the AKAMAI_CCU_* "
                "settings or the edgerc file); give the named account another name."
            )
        if not isinstance(config, dict):
            raise AkamaiConfigurationError(
                f"{_where(name)} is a {type(config).__name__}; expected a dict with keys "
                f"{', '.join(ACCOUNT_KEYS)}."
            )
        unknown = sorted(str(key) for key in config if key not in ACCOUNT_KEYS)
        if unknown:
            raise AkamaiConfigurationError(
                f"{_where(name)}: unknown key(s) {', '.join(unknown)}; known: "
                f"{', '.join(ACCOUNT_KEYS)}."
            )
        for key in (*ACCOUNT_CREDENTIAL_KEYS, *ACCOUNT_EDGERC_KEYS):
            item = config.get(key)
            if item is not None and not isinstance(item, (str, os.PathLike, Secret)):
                raise AkamaiConfigurationError(
                    f"{_where(name, key)} is a {type(item).__name__}; expected a string."
                )
        hostnames = config.get("HOSTNAMES") or ()
        if isinstance(hostnames, str) or not isinstance(hostnames, (list, tuple)):
            raise AkamaiConfigurationError(
                f"{_where(name, 'HOSTNAMES')} is {hostnames!r}; expected a list of host names "
                "such as ['www.brand-b.com']."
            )
        hosts = []
        for host in hostnames:
            problem = _hostname_problem(host)
            if problem:
                raise AkamaiConfigurationError(f"{_where(name, 'HOSTNAMES')}: {host!r} {problem}.")
            host = host.strip().lower()
            if host in owners and owners[host] != name:
                raise AkamaiConfigurationError(
                    f"{_where(name, 'HOSTNAMES')}: {host!r} is also a host of "
                    f"{_where(owners[host])}; a URL's host names one account."
                )
            owners[host] = name
            hosts.append(host)
        found[name] = Account(name, tuple(dict.fromkeys(hosts)), dict(config))
    return found


# Routing reads it at every save: once per process. The credentials read it afresh.
_accounts = per_settings(_read_accounts)


def account_names() -> list[str | None]:
    """Every configured account: ``None`` (the default) first, then each named one."""
    return [None, *accounts()]


def checked_account(account: str | None) -> str | None:
    """``account`` as the doors take it: ``None`` for the default (``None`` or "default"), or
    the name of a configured account; ``AkamaiConfigurationError`` for any other name."""
    if account is None or account == DEFAULT_ACCOUNT:
        return None
    known = accounts()
    if account not in known:
        names = ", ".join(map(repr, [DEFAULT_ACCOUNT, *known]))
        raise AkamaiConfigurationError(
            f"No Akamai account named {account!r}: AKAMAI_ACCOUNTS has no such entry "
            f"(accounts: {names})."
        )
    return account


def account_for_url(url: str, configured: dict[str, Account] | None = None) -> str | None:
    """The named account whose ``HOSTNAMES`` hold ``url``'s host, or ``None`` (the default).

    A host name given without a port matches the host on any port; one with a port (e.g.
    ``127.0.0.1:8000``) only that port. ``configured``: ``accounts()``, when the caller has
    read it already (routing many URLs reads the setting once).
    """
    if configured is None:
        configured = accounts()
    if not configured or not isinstance(url, str):
        return None
    parts = urlsplit(url)
    netloc = (parts.netloc.rsplit("@", 1)[-1]).lower()
    host = (parts.hostname or "").lower()
    for name, account in configured.items():
        if netloc in account.hostnames or host in account.hostnames:
            return name
    return None


@sensitive_variables("config", "values")
def _account_credentials(name: str) -> EdgeGridCredentials:
    """The Fast Purge credentials of the named account ``name``: its host and tokens, or its
    edgerc file (default ``AKAMAI_EDGERC_FILENAME``) and section (default: its name)."""
    config = _read_accounts()[name].settings  # afresh: once per sender, never per save
    names = {field: _where(name, key) for key, field in ACCOUNT_CREDENTIAL_KEYS.items()}
    values = {
        field: hide(config.get(key)) if field in _V3_SECRETS else config.get(key)
        for key, field in ACCOUNT_CREDENTIAL_KEYS.items()
    }
    if any(values.values()):
        if any(config.get(key) for key in ACCOUNT_EDGERC_KEYS):
            raise AkamaiConfigurationError(
                f"{_where(name)} has both HOST and tokens and EDGERC_FILENAME/EDGERC_SECTION; "
                "give one or the other."
            )
        return _v3_from_values(values, _where(name), names)
    filename = config.get("EDGERC_FILENAME") or get_setting("AKAMAI_EDGERC_FILENAME")
    section = config.get("EDGERC_SECTION") or name
    try:
        return load_edgerc(str(filename), str(section))
    except EdgercError as exc:
        raise EdgercError(f"{_where(name)}: {exc}", problem=exc.problem) from None


@sensitive_variables("password", "client_secret", "access_token", "v3_args")
def resolve_credentials(
    *,
    account: str | None = None,
    username: str | None = None,
    password: str | Secret | None = None,
    ccu_base_url: str | None = None,
    host: str | None = None,
    client_token: str | None = None,
    client_secret: str | Secret | None = None,
    access_token: str | Secret | None = None,
    edgerc: str | None = None,
    edgerc_section: str | None = None,
    api: str | None = None,
) -> Credentials:
    """Pick the API and its credentials: arguments, then settings, then the edgerc file.

    Secrets may be given as ``str`` or ``Secret``; they are held as ``Secret`` from here on.
    Every credential's characters are checked here, so that a bad one is an
    ``AkamaiConfigurationError`` naming the setting (or argument, or edgerc file and section)
    now, and never an exception quoting it when a request is signed.

    ``account`` names an account of ``AKAMAI_ACCOUNTS`` (``None`` or "default": the default
    account, the settings above): its own credentials, never mixed with arguments.
    """
    password, client_secret, access_token = hide(password), hide(client_secret), hide(access_token)
    named = checked_account(account)
    if named is not None:
        given = [
            arg
            for arg, value in (
                ("username", username),
                ("password", password),
                ("host", host),
                ("client_token", client_token),
                ("client_secret", client_secret),
                ("access_token", access_token),
                ("edgerc", edgerc),
                ("edgerc_section", edgerc_section),
            )
            if value
        ]
        if given:
            raise AkamaiConfigurationError(
                f"account={named!r} has its credentials in AKAMAI_ACCOUNTS; do not pass "
                f"{', '.join(given)} as well."
            )
        if api is not None and forced_api(api) == "v2":
            raise AkamaiConfigurationError(
                f"account={named!r}: named accounts use Fast Purge v3; CCU v2 is retired."
            )
        return _account_credentials(named)
    v3_args = {
        "host": host,
        "client_token": client_token,
        "client_secret": client_secret,
        "access_token": access_token,
    }
    # Credentials given as arguments choose their API; api= or AKAMAI_CCU_API only decide
    # when the arguments don't (or when api= is passed explicitly).
    has_v2_args, has_v3_args = bool(username or password), any(v3_args.values()) or bool(edgerc)
    forced = forced_api(api) if api is not None or not (has_v2_args or has_v3_args) else None
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
        missing = NoAkamaiUsernameProvidedException(NO_CREDENTIALS_MESSAGE)
        missing.nothing_configured = True
        raise missing
    return found


#: What a ``PurgeRequest`` uses when purging is off and no credentials are configured: a host
#: that cannot resolve (``.invalid``), never contacted since nothing is sent.
PURGING_OFF_CREDENTIALS = EdgeGridCredentials(
    host="https://purging-is-off.invalid",
    client_token="-",  # noqa: S106  (a placeholder, never sent anywhere)
    client_secret=Secret("-"),
    access_token=Secret("-"),
    source="AKAMAI_PURGE_ENABLED = False",
)


def configured_api() -> str:
    """The API of the configured credentials; Fast Purge v3 when there are none usable.

    Planning needs no credentials (a web process that only records may have none): whoever
    sends re-packs with its own API's limits, so Fast Purge's are the safe guess.
    """
    try:
        return resolve_credentials().api
    except AkamaiConfigurationError:
        return "v3"


def base_urls() -> list[str]:
    """``AKAMAI_BASE_URL`` as a list of ``scheme://host`` prefixes (possibly empty)."""
    return list(_base_urls())


@per_settings
def _base_urls() -> list[str]:
    value = get_setting("AKAMAI_BASE_URL")
    if not value:
        return []
    if isinstance(value, str):
        values = [value]
    elif isinstance(value, (list, tuple)):
        values = list(value)
    else:
        raise AkamaiConfigurationError(
            f"AKAMAI_BASE_URL is a {type(value).__name__}; give an origin such as "
            "'https://www.example.com', or a list of them."
        )
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
    return setting("AKAMAI_CONNECT_TIMEOUT"), setting("AKAMAI_READ_TIMEOUT")
