"""System checks for the Akamai backends in ``WAGTAILFRONTENDCACHE``.

Wagtail builds its backends only when it purges, so a misspelt setting would first fail at a
publish, inside Wagtail's task; ``manage.py check`` builds ours up front and reports why.
"""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


def check_backends(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from django.conf import settings
    from django.utils.module_loading import import_string

    from .backend import AkamaiBackend

    errors: list[checks.CheckMessage] = []
    for name, config in (getattr(settings, "WAGTAILFRONTENDCACHE", None) or {}).items():
        path = config.get("BACKEND") if isinstance(config, dict) else None
        try:
            backend_class = import_string(path) if path else None
        except ImportError:
            continue  # Wagtail's own error to report, and not one of ours
        if not (isinstance(backend_class, type) and issubclass(backend_class, AkamaiBackend)):
            continue
        params = {key: value for key, value in config.items() if key != "BACKEND"}
        try:
            backend_class(params)
        except ImproperlyConfigured as exc:
            errors.append(
                checks.Error(
                    f"WAGTAILFRONTENDCACHE[{name!r}]: {exc}",
                    hint="Fix the backend's settings; see the django-akamai manual, 'Wagtail'.",
                    id="django_akamai_wagtail.E001",
                )
            )
    return errors
