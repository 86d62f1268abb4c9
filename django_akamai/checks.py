"""System checks (``manage.py check``) for django-akamai's settings.

Every setting has an entry in ``conf.SPECS`` (its type, minimum or form): ``check_settings``
reports a value that does not fit, as ``conf.setting()`` would refuse it at run time. Every
problem that would otherwise surface as an exception on the first purge is reported
here, at start-up, with an id and a hint. Nothing here touches the network or the database.

==========================  ==============================================================
``django_akamai.W001``      no credentials at all (a warning: purges raise until configured;
                            not with AKAMAI_PURGE_ENABLED = False, when nothing is sent)
``django_akamai.W002``      both Fast Purge and CCU v2 configured, AKAMAI_CCU_API unset
``django_akamai.E001``      edgerc file unreadable or unparsable (E001-E003 are warnings
                            with AKAMAI_PURGE_ENABLED = False, when nothing is sent)
``django_akamai.E002``      edgerc file lacks the section
``django_akamai.E003``      edgerc section lacks a key
``django_akamai.E004``      credentials settings incomplete or malformed
``django_akamai.E005``      unknown action, type or network (or option name)
``django_akamai.E006``      plain http to an API host that is not loopback
``django_akamai.E007``      AKAMAI_BASE_URL malformed
``django_akamai.W003``      URLs from get_absolute_url() likely relative, no AKAMAI_BASE_URL
``django_akamai.E008``      Celery task settings configured but Celery not installed
``django_akamai.E009``      purge history settings malformed (AKAMAI_HISTORY not a bool, the
                            bound or retention not a number >= 0 or None)
``django_akamai.W004``      an ``AKAMAI_*`` setting django-akamai does not know (misspelt?)
``django_akamai.E010``      AKAMAI_DELIVERY unknown, "celery" without Celery, "tasks" without
                            a Tasks framework (Django 5.2 without django-tasks)
``django_akamai.W005``      (--deploy) purge intents pending for longer than 10 minutes
``django_akamai.W006``      (--deploy) purge intents Akamai refused, kept as failed
``django_akamai.E011``      a numeric setting (timeouts, retries, body size, the delivery's
                            delay, lease and backoffs...) not a number in range
``django_akamai.E012``      AKAMAI_CPCODES or AKAMAI_COLLAPSE_THRESHOLD malformed
``django_akamai.E013``      another setting of the wrong type (AKAMAI_PURGE_ENABLED a string,
                            AKAMAI_CELERY_TASK_OPTIONS not a dict...)
``django_akamai.W007``      AKAMAI_PURGE_MODELS_QUEUE or a model's "queue": they change nothing
``django_akamai.E014``      AKAMAI_ACCOUNTS malformed (a name, an unknown key, HOSTNAMES), or
                            a named account's credentials unusable (warnings with
                            AKAMAI_PURGE_ENABLED = False)
``django_akamai.E015``      AKAMAI_VERIFY or AKAMAI_SECOND_PURGE_SECONDS malformed
``django_akamai.W008``      AKAMAI_VERIFY on without an 'EDGE' to connect to
==========================  ==============================================================
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import sys
from collections.abc import Iterator
from typing import Any

from django.core.checks import CheckMessage, Error, Warning, register

from . import conf
from .autopurge import active_models
from .delivery.modes import MODES
from .delivery.worker import pending_summary
from .exceptions import (
    AkamaiConfigurationError,
    EdgercError,
    InvalidPurgeOptions,
    PlainHttpHostError,
)
from .funnel import site_cpcodes
from .hosts import plain_http_host
from .options import parse_options
from .verification.options import verify_options

TAG = "django_akamai"

_V3 = (
    "AKAMAI_CCU_HOST",
    "AKAMAI_CCU_CLIENT_TOKEN",
    "AKAMAI_CCU_CLIENT_SECRET",
    "AKAMAI_CCU_ACCESS_TOKEN",
)
_V2 = ("AKAMAI_CCUAPI_USERNAME", "AKAMAI_CCUAPI_PASSWORD")

CREDENTIALS_HINT = (
    "Set AKAMAI_CCU_HOST, AKAMAI_CCU_CLIENT_TOKEN, AKAMAI_CCU_CLIENT_SECRET and "
    "AKAMAI_CCU_ACCESS_TOKEN (Fast Purge v3), or put them in an edgerc file "
    "(AKAMAI_EDGERC_FILENAME, section AKAMAI_EDGERC_CCU_SECTION), or set "
    "AKAMAI_CCUAPI_USERNAME and AKAMAI_CCUAPI_PASSWORD (CCU v2). Where purging is off on "
    "purpose, add 'django_akamai.W001' to SILENCED_SYSTEM_CHECKS."
)


_HTTP_HINT = (
    "Use https:// (or the bare host name); plain http is only for the emulator on 127.0.0.1."
)


def _http_error(setting: str, host: str) -> Error:
    return Error(
        f"{setting} sends purge requests over plain http to {host}, which is not a loopback "
        "host: the request and its signature would cross the network unencrypted.",
        hint=f"Use https://{host} (or the bare host name); plain http is only for the "
        "emulator on 127.0.0.1.",
        id="django_akamai.E006",
    )


_EDGERC_PROBLEMS = {
    "unreadable": (
        "django_akamai.E001",
        "Set AKAMAI_EDGERC_FILENAME to your .edgerc, fix its permissions or its INI syntax "
        "([section] lines, then key = value lines), or use the AKAMAI_CCU_* settings.",
    ),
    "section": (
        "django_akamai.E002",
        "Set AKAMAI_EDGERC_CCU_SECTION to the section holding your Fast Purge API client.",
    ),
    "key": (
        "django_akamai.E003",
        "Copy the missing keys from the API client's credentials in Akamai Control Center.",
    ),
}


def _edgerc(path: str, section: str) -> Iterator[CheckMessage]:
    """E001/E002/E003/E006 for the edgerc file that will be used, as conf.load_edgerc reads it."""
    try:
        conf.load_edgerc(path, section)
    except EdgercError as exc:
        check_id, hint = _EDGERC_PROBLEMS[exc.problem]
        yield Error(str(exc), hint=hint, id=check_id)
    except PlainHttpHostError as exc:
        yield Error(str(exc), hint=_HTTP_HINT, id="django_akamai.E006")
    except AkamaiConfigurationError as exc:  # e.g. a host with a path
        yield Error(str(exc), hint="Fix the edgerc file.", id="django_akamai.E001")


_EDGERC_IDS = {check_id for check_id, _ in _EDGERC_PROBLEMS.values()}


def _while_off(message: CheckMessage) -> CheckMessage:
    return Warning(
        f"{message.msg} (AKAMAI_PURGE_ENABLED = False: nothing is sent until this is fixed)",
        hint=message.hint,
        id=message.id,
    )


@register(TAG)
def check_credentials(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W001, W002, E001-E004, E006: which API, which credentials, and whether they can be used."""
    get = conf.get_setting
    messages: list[CheckMessage] = []
    try:
        forced = conf.forced_api(None)
    except InvalidPurgeOptions as exc:
        return [
            Error(
                str(exc),
                hint="AKAMAI_CCU_API = 'v3' or 'v2', or remove it.",
                id="django_akamai.E004",
            )
        ]
    has_v3 = any(get(name) for name in _V3)
    has_v2 = any(get(name) for name in _V2)
    path, section = conf.edgerc_location()
    edgerc_named = get("AKAMAI_EDGERC_FILENAME") != conf.DEFAULTS["AKAMAI_EDGERC_FILENAME"]
    forced_v2, forced_v3 = forced == "v2", forced == "v3"
    # The edgerc file is read only when no AKAMAI_CCU_* setting is set (see conf.py).
    uses_edgerc = (
        not has_v3
        and not forced_v2
        and (forced_v3 or edgerc_named or (not has_v2 and os.path.exists(path)))
    )

    if not has_v3 and not has_v2 and not uses_edgerc and not forced_v3:
        if not get("AKAMAI_PURGE_ENABLED"):
            return []  # purging is off: nothing is ever sent, so none are needed
        # A warning, not an error: development and CI machines often have no credentials
        # (the emulator's are set at run time), and an error would stop every command.
        return [
            Warning(
                "No Akamai credentials are configured: every purge would fail.",
                hint=CREDENTIALS_HINT,
                id="django_akamai.W001",
            )
        ]

    if uses_edgerc:
        found = list(_edgerc(path, section))
        if not get("AKAMAI_PURGE_ENABLED"):
            # Purging is off (the docs' advice for a machine without credentials): nothing is
            # sent, so a missing or broken edgerc warns instead of stopping migrate and check.
            found = [_while_off(m) if m.id in _EDGERC_IDS else m for m in found]
        messages.extend(found)
    for setting in ("AKAMAI_CCU_HOST", "AKAMAI_CCUAPI_BASE_URL"):
        host = plain_http_host(get(setting))
        if host:
            messages.append(_http_error(setting, host))

    edgerc_usable = uses_edgerc and not messages
    if forced is None and has_v2 and (has_v3 or (edgerc_named and edgerc_usable)):
        used = "Fast Purge v3" if has_v3 else "CCU v2"
        messages.append(
            Warning(
                "Both Fast Purge v3 (EdgeGrid) and CCU v2 (username/password) credentials are "
                f"configured, and AKAMAI_CCU_API does not say which to use; {used} is used.",
                hint="Set AKAMAI_CCU_API = 'v3' (Fast Purge, the API Akamai serves today) or "
                "'v2', or remove the credentials you do not use.",
                id="django_akamai.W002",
            )
        )

    if not messages:
        try:
            conf.resolve_credentials()
        except AkamaiConfigurationError as exc:
            # Exception messages of this app never carry a secret, only setting names.
            messages.append(
                Error(
                    str(exc), hint="Fix the Akamai credentials settings.", id="django_akamai.E004"
                )
            )
    return messages


@register(TAG)
def check_options(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E005 for AKAMAI_PURGE_OPTIONS and the admin's ``akamai_purge_options``; E007."""
    messages: list[CheckMessage] = []
    try:
        parse_options(None, conf.get_setting("AKAMAI_PURGE_OPTIONS"))
    except InvalidPurgeOptions as exc:
        messages.append(
            Error(
                f"AKAMAI_PURGE_OPTIONS: {exc}",
                hint="Use e.g. {'action': 'invalidate', 'type': 'url', 'network': 'production'}.",
                id="django_akamai.E005",
            )
        )
    for model_admin in _purge_admins():
        options = getattr(model_admin, "akamai_purge_options", None)
        try:
            parse_options(options)
        except InvalidPurgeOptions as exc:
            messages.append(
                Error(
                    f"{type(model_admin).__name__}.akamai_purge_options: {exc}",
                    hint="Use action invalidate|delete, type url|tag|cpcode, "
                    "network production|staging.",
                    obj=type(model_admin),
                    id="django_akamai.E005",
                )
            )
    try:
        conf.base_urls()
    except AkamaiConfigurationError as exc:
        messages.append(
            Error(
                str(exc),
                hint="AKAMAI_BASE_URL = 'https://www.example.com' or a list of such origins.",
                id="django_akamai.E007",
            )
        )
    return messages


def _purge_admins() -> list[Any]:
    """ModelAdmins (on every admin site) that offer the "Purge from Akamai" action."""
    # Only admin modules that imported the mixin can use it; importing ours here would
    # register models on the default site as a side effect.
    admin_module = sys.modules.get("django_akamai.admin")
    if admin_module is None:
        return []
    from django.contrib.admin.sites import all_sites

    mixin = admin_module.AkamaiPurgeAdminMixin

    return [
        model_admin
        for site in all_sites
        for model_admin in site._registry.values()
        if isinstance(model_admin, mixin)
    ]


def _probably_relative(model: type) -> bool:
    """Whether ``model.get_absolute_url()`` looks like it returns a path.

    Probed on an unsaved instance; a method that cannot run on one (most use the primary
    key) is taken to return a path, as Django's convention has it.
    """
    try:
        url = model().get_absolute_url()
    except Exception:
        return True
    return not (isinstance(url, str) and "://" in url)


@register(TAG)
def check_base_url(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W003: models purged by URL (admin action, AKAMAI_PURGE_MODELS) whose URLs are paths,
    and no AKAMAI_BASE_URL."""
    if conf.get_setting("AKAMAI_BASE_URL"):
        return []
    messages: list[CheckMessage] = []
    for model_admin in _purge_admins():
        options = getattr(model_admin, "akamai_purge_options", None) or {}
        model = model_admin.model
        if str(options.get("type", "url")).lower() not in ("url", "arl"):
            continue
        if not hasattr(model, "get_absolute_url") or not _probably_relative(model):
            continue
        messages.append(
            Warning(
                f"{type(model_admin).__name__} offers 'Purge from Akamai' for "
                f"{model._meta.label}, whose get_absolute_url() returns a path, but "
                "AKAMAI_BASE_URL is not set: the purge would fail with NoBaseURLConfigured.",
                hint="Set AKAMAI_BASE_URL to your site's origin, e.g. 'https://www.example.com' "
                "(a list purges each path on every host). If the URLs are absolute, add "
                "'django_akamai.W003' to SILENCED_SYSTEM_CHECKS.",
                obj=type(model_admin),
                id="django_akamai.W003",
            )
        )
    messages.extend(_autopurge_relative())
    return messages


def _autopurge_relative() -> list[CheckMessage]:
    """W003 for AKAMAI_PURGE_MODELS entries that purge paths."""

    messages: list[CheckMessage] = []
    seen = set()
    for model, spec in active_models().items():
        if spec.label in seen:  # proxies and subclasses share their ancestor's entry
            continue
        seen.add(spec.label)
        sources = []
        if spec.own_url and _probably_relative(model):
            sources.append("get_absolute_url()")
        if not callable(spec.urls) and any(str(url).startswith("/") for url in spec.urls):
            sources.append("its 'urls'")
        if sources:
            messages.append(
                Warning(
                    f"AKAMAI_PURGE_MODELS purges {spec.label} by {' and '.join(sources)}, which "
                    "give paths, but AKAMAI_BASE_URL is not set: every save would fail to purge.",
                    hint="Set AKAMAI_BASE_URL to your site's origin, e.g. "
                    "'https://www.example.com'.",
                    obj=model,
                    id="django_akamai.W003",
                )
            )
    return messages


def celery_queue_settings() -> list[str]:
    """The settings, as configured, that only the Celery tasks read.

    ``AKAMAI_PURGE_MODELS_QUEUE`` and a model's ``"queue"`` are not among them: they are
    accepted for compatibility and change nothing now (``AKAMAI_DELIVERY`` decides), so they
    must not ask for Celery.
    """
    return [
        name
        for name in ("AKAMAI_CELERY_QUEUE", "AKAMAI_CELERY_TASK_OPTIONS")
        if conf.get_setting(name)
    ]


@register(TAG)
def check_celery(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E008: queueing through Celery is configured, but Celery cannot be imported."""
    configured = celery_queue_settings()
    if not configured or importlib.util.find_spec("celery") is not None:
        return []
    return [
        Error(
            f"{', '.join(configured)} asks for purges to be queued through Celery, but Celery is "
            "not installed.",
            hint="pip install 'django-akamai[celery]', or turn queueing off.",
            id="django_akamai.E008",
        )
    ]


@register(TAG)
def check_setting_names(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W004: an ``AKAMAI_*`` setting that is not one of ``conf.DEFAULTS``, with the nearest
    known name: a misspelt setting is otherwise silently ignored."""
    from django.conf import settings

    known = sorted(conf.DEFAULTS)
    messages: list[CheckMessage] = []
    for name in sorted(n for n in dir(settings) if n.startswith("AKAMAI_") and n.isupper()):
        if name in conf.DEFAULTS:
            continue
        nearest = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        guess = f" Did you mean {nearest[0]}?" if nearest else ""
        messages.append(
            Warning(
                f"{name} is not a django-akamai setting, so it has no effect.{guess}",
                hint="See the settings reference (docs/configuration.rst). If the setting "
                "belongs to something else, add 'django_akamai.W004' to "
                "SILENCED_SYSTEM_CHECKS.",
                id="django_akamai.W004",
            )
        )
    return messages


@register(TAG)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E009, E011, E012, E013: every setting against its ``conf.SPECS`` entry (type, minimum),
    as ``conf.setting()`` reads it; those whose value another check validates whole (the
    credentials, URL, options, models, CP codes and delivery mode) are left to it."""
    messages: list[CheckMessage] = []
    for name, spec in conf.SPECS.items():
        if spec.more:
            continue
        problem = conf.setting_problem(name, conf.get_setting(name))
        if problem:
            messages.append(
                Error(
                    f"{name} {problem}.",
                    hint=f"Remove {name} to use the default ({conf.DEFAULTS[name]!r}).",
                    id=spec.check,
                )
            )
    return messages


@register(TAG)
def check_deprecated(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W007: ``AKAMAI_PURGE_MODELS_QUEUE`` and a model's ``"queue"`` change nothing."""
    from django.conf import settings

    declared = conf.get_setting("AKAMAI_PURGE_MODELS")
    queued = (
        sorted(
            str(label)
            for label, spec in declared.items()
            if isinstance(spec, dict) and "queue" in spec
        )
        if isinstance(declared, dict)
        else []
    )
    where = ["AKAMAI_PURGE_MODELS_QUEUE"] if hasattr(settings, "AKAMAI_PURGE_MODELS_QUEUE") else []
    where += [f"AKAMAI_PURGE_MODELS[{label!r}]['queue']" for label in queued]
    if not where:
        return []
    return [
        Warning(
            f"{', '.join(where)} changes nothing: automatic purging records purge intents, "
            "delivered as AKAMAI_DELIVERY says.",
            hint="Remove it; set AKAMAI_DELIVERY = 'celery' to deliver through Celery.",
            id="django_akamai.W007",
        )
    ]


@register(TAG)
def check_delivery(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E010: AKAMAI_DELIVERY must name a delivery mode whose requirements are installed."""

    value = conf.get_setting("AKAMAI_DELIVERY")
    if not isinstance(value, str) or value not in MODES:
        return [
            Error(
                f"AKAMAI_DELIVERY is {value!r}; purge intents would never be delivered.",
                hint=f"Use one of {', '.join(map(repr, MODES))} (default 'background').",
                id="django_akamai.E010",
            )
        ]
    if value == "celery" and importlib.util.find_spec("celery") is None:
        return [
            Error(
                "AKAMAI_DELIVERY is 'celery' but Celery is not installed.",
                hint="pip install 'django-akamai[celery]', or use 'background' or 'worker'.",
                id="django_akamai.E010",
            )
        ]
    if value == "tasks" and tasks_framework_missing():
        return [
            Error(
                "AKAMAI_DELIVERY is 'tasks' but Django's Tasks framework is not available "
                "(Django 5.2 needs its backport, django-tasks).",
                hint="pip install 'django-akamai[tasks]', or use 'background' or 'worker'.",
                id="django_akamai.E010",
            )
        ]
    return []


def tasks_framework_missing() -> bool:
    """Neither ``django.tasks`` (Django 6.0+) nor the ``django-tasks`` backport is there."""
    import django

    return django.VERSION < (6, 0) and importlib.util.find_spec("django_tasks") is None


@register(TAG)
def check_site_switches(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E012: the site's CP codes (the threshold is checked with every setting)."""

    messages: list[CheckMessage] = []
    try:
        site_cpcodes()
    except AkamaiConfigurationError as exc:
        messages.append(
            Error(
                str(exc),
                hint="AKAMAI_CPCODES = [12345, 67890]: the site's CP codes, positive integers.",
                id="django_akamai.E012",
            )
        )
    return messages


@register(TAG)
def check_accounts(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E014: ``AKAMAI_ACCOUNTS`` as ``conf.accounts()`` reads it, and each named account's
    credentials as ``conf.resolve_credentials(account=...)`` reads them (never quoted)."""
    try:
        named = conf.accounts()
    except AkamaiConfigurationError as exc:
        return [
            Error(
                str(exc),
                hint="AKAMAI_ACCOUNTS = {'brand-b': {'EDGERC_SECTION': 'brand-b', "
                "'HOSTNAMES': ['www.brand-b.com']}}; keys: " + ", ".join(conf.ACCOUNT_KEYS) + ".",
                id="django_akamai.E014",
            )
        ]
    messages: list[CheckMessage] = []
    for name in named:
        try:
            conf.resolve_credentials(account=name)
        except PlainHttpHostError as exc:
            messages.append(Error(str(exc), hint=_HTTP_HINT, id="django_akamai.E006"))
        except AkamaiConfigurationError as exc:
            messages.append(
                Error(
                    str(exc) if name in str(exc) else f"AKAMAI_ACCOUNTS[{name!r}]: {exc}",
                    hint="Give the account HOST, CLIENT_TOKEN, CLIENT_SECRET and ACCESS_TOKEN, "
                    "or an edgerc file's section (EDGERC_FILENAME, default "
                    "AKAMAI_EDGERC_FILENAME; EDGERC_SECTION, default the account's name).",
                    id="django_akamai.E014",
                )
            )
    if not conf.get_setting("AKAMAI_PURGE_ENABLED"):
        messages = [_while_off(m) for m in messages]
    return messages


#: Intents pending longer than this make ``check --deploy`` warn: no deliverer keeps up.
STALE_INTENT_SECONDS = 600


@register(TAG, deploy=True)
def check_intents(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """W005/W006 (``--deploy``): intents waiting too long, intents Akamai refused."""
    from django.db import DatabaseError, router
    from django.utils import timezone

    from .models import PurgeIntent

    messages: list[CheckMessage] = []
    # The intents' own database, when the check may look at it: Django 6.1 hands every
    # database to the checks by default, 5.2 only those named with --database.
    own = router.db_for_write(PurgeIntent)
    aliases = [own] if databases is None or own in databases else []
    for alias in aliases:
        try:
            summary = pending_summary(alias)
        except DatabaseError:  # not migrated yet: nothing recorded there
            continue
        oldest = summary["oldest_pending"]
        if oldest is not None:
            age = (timezone.now() - oldest).total_seconds()
            if age > STALE_INTENT_SECONDS:
                messages.append(
                    Warning(
                        f"{summary['pending'] + summary['claimed']} purge intent(s) on database "
                        f"{alias!r} are waiting for delivery, the oldest for {age / 60:.0f} "
                        "minutes.",
                        hint="Is a deliverer running for AKAMAI_DELIVERY = "
                        f"{conf.get_setting('AKAMAI_DELIVERY')!r}? 'manage.py akamai_worker "
                        "--status' shows the counts; 'manage.py akamai_worker --burst' "
                        "delivers them now and names what fails.",
                        id="django_akamai.W005",
                    )
                )
        if summary["failed"]:
            messages.append(
                Warning(
                    f"{summary['failed']} purge intent(s) on database {alias!r} failed: Akamai "
                    "refused them (or they could not be planned) and they are not retried.",
                    hint="See 'Purge intents' in the admin (filter by status 'failed') for "
                    "Akamai's reason; retry them once fixed, or discard them.",
                    id="django_akamai.W006",
                )
            )
    return messages


@register(TAG)
def check_verification(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E015: ``AKAMAI_VERIFY`` malformed (``AKAMAI_SECOND_PURGE_SECONDS`` is checked with the
    other settings, under the same id). W008: verification
    on without an ``EDGE``: each URL's own host is resolved, which inside a site's network is
    often the origin itself, so every page would look fresh."""
    messages: list[CheckMessage] = []
    try:
        options = verify_options()
    except AkamaiConfigurationError as exc:
        hint = "See docs/verification.rst for AKAMAI_VERIFY's keys."
        messages.append(Error(str(exc), hint=hint, id="django_akamai.E015"))
        return messages
    if options is not None and options.edge is None:
        messages.append(
            Warning(
                "AKAMAI_VERIFY is on but names no edge ('EDGE'): each URL's own host is "
                "resolved, which from inside your network may be the origin, not Akamai.",
                hint="Set AKAMAI_VERIFY['EDGE'] to the property's edge hostname (e.g. "
                "'https://www.example.com.edgekey.net') or a staging edge.",
                id="django_akamai.W008",
            )
        )
    return messages
