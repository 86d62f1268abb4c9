"""django-akamai: purge Akamai's CDN from Django."""

from __future__ import annotations

from typing import Any

__version__ = "3.0.0"

__all__ = ["suspend_purges"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so that ``import django_akamai`` (done by Django for every
    # installed app, and by settings files) loads nothing else.
    if name == "suspend_purges":
        from .funnel import suspend_purges  # noqa: I001  (lazily: see above)

        return suspend_purges
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
