"""Sphinx configuration for django-akamai's manual (``make docs``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from django_akamai import __version__  # noqa: E402

project = "django-akamai"
author = "django-akamai contributors"
copyright = "django-akamai contributors"
version = release = __version__

extensions: list[str] = []
# The build runs offline and with warnings as errors: no intersphinx inventories to fetch.
exclude_patterns = ["_build"]
html_theme = "furo"
html_title = f"django-akamai {release}"
html_static_path: list[str] = []
nitpicky = True
# Code samples are Python unless they say otherwise.
highlight_language = "python"


def setup(app: Any) -> None:
    # :setting:`AKAMAI_BASE_URL` links to the setting's entry on the configuration page and
    # lists it in the index, as Django's own documentation does for its settings.
    app.add_crossref_type("setting", "setting", indextemplate="pair: %s; setting")
    app.add_crossref_type("check", "check", indextemplate="pair: %s; system check")
