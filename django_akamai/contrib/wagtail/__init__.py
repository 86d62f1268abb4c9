"""Akamai for Wagtail's frontend cache (install with the ``wagtail`` extra).

``AkamaiBackend`` (in :mod:`.backend`) is the backend to name in ``WAGTAILFRONTENDCACHE``.
Adding ``"django_akamai.contrib.wagtail"`` to ``INSTALLED_APPS`` as well purges moved pages
(their old and new URLs), runs the ``akamai_page_dependents`` hook and, for backends with
``"CACHE_TAGS": True``, tags page responses (see :mod:`.pages`).
"""

from .backend import AkamaiBackend

__all__ = ["AkamaiBackend"]
