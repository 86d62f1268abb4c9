"""System checks for the Akamai backends in ``WAGTAILFRONTENDCACHE``.

Wagtail builds its backends only when it purges, so a misspelt setting would first fail at a
publish, inside Wagtail's task; ``manage.py check`` builds ours up front and reports why.

=================================  ======================================================
``django_akamai_wagtail.E001``     a backend's settings are wrong (unknown key, bad value)
``django_akamai_wagtail.W001``     a backend's ``HOSTNAMES`` match no Wagtail ``Site``: it
                                   would purge nothing (Wagtail only logs this, at INFO)
=================================  ======================================================
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, router
from django.utils.module_loading import import_string
from wagtail.models import Site

from .backend import AkamaiBackend

_HOSTNAMES_HINT = (
    "Wagtail compares the host of each URL it purges (with its port unless 80 or 443, e.g. "
    "'127.0.0.1:8000' under runserver) with HOSTNAMES: list the Sites' hosts, fix the "
    "Sites (Wagtail admin, Settings, Sites), or remove HOSTNAMES to purge every Site."
)


def _configured() -> Iterator[tuple[str, type[AkamaiBackend], dict[str, Any]]]:
    """``(name, backend class, params)`` of each ``AkamaiBackend`` entry."""
    for name, config in (getattr(settings, "WAGTAILFRONTENDCACHE", None) or {}).items():
        path = config.get("BACKEND") if isinstance(config, dict) else None
        try:
            backend_class = import_string(path) if path else None
        except ImportError:
            continue  # Wagtail's error to report, and not one of ours
        if isinstance(backend_class, type) and issubclass(backend_class, AkamaiBackend):
            yield name, backend_class, {k: v for k, v in config.items() if k != "BACKEND"}


def _site_hosts() -> list[str] | None:
    """The host (``netloc``) of each Wagtail ``Site``, as Wagtail's purges name them; None
    when the Sites cannot be read (no table before ``migrate``, no database)."""
    try:
        sites = list(Site.objects.using(router.db_for_read(Site)).order_by("hostname", "port"))
    except DatabaseError:
        return None
    return list(dict.fromkeys(urlsplit(site.root_url).netloc for site in sites))


def check_backends(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E001 for a backend that cannot be built, W001 for one that matches no Site."""
    messages: list[checks.CheckMessage] = []
    hosts: list[str] | None = None
    for name, backend_class, params in _configured():
        try:
            backend = backend_class(params)
        except ImproperlyConfigured as exc:
            messages.append(
                checks.Error(
                    f"WAGTAILFRONTENDCACHE[{name!r}]: {exc}",
                    hint="Fix the backend's settings; see the django-akamai manual, 'Wagtail'.",
                    id="django_akamai_wagtail.E001",
                )
            )
            continue
        if "HOSTNAMES" not in params:
            continue  # every host
        if hosts is None:
            hosts = _site_hosts()
        # No Sites (a fresh database) or none readable: nothing to compare with yet.
        if hosts and not any(backend.invalidates_hostname(host) for host in hosts):
            messages.append(
                checks.Warning(
                    f"WAGTAILFRONTENDCACHE[{name!r}]: HOSTNAMES {list(backend.hostnames)!r} "
                    f"match none of the Wagtail Sites' hosts {hosts!r}, so this backend "
                    "purges nothing.",
                    hint=_HOSTNAMES_HINT,
                    id="django_akamai_wagtail.W001",
                )
            )
    return messages
