"""``AkamaiBackend``: Wagtail's frontend cache hands its URLs to django-akamai's pipeline.

Wagtail decides what changed (a published, unpublished or deleted page's URLs, grouped by
hostname and filtered by each backend's ``HOSTNAMES``) and calls ``purge_batch(urls)``,
from a django-tasks task since Wagtail 6.4. This backend never talks to Akamai itself: every
purge goes through :meth:`AkamaiBackend._record`, the one door into django-akamai's pipeline,
which records it as purge intents in the database (in the page's transaction, if any: a
rollback drops them). The deliverer sends them after the commit, as ``AKAMAI_DELIVERY``
says, packed with everything else pending, paced per account, retried until Akamai takes
them; a publish never waits on Akamai.

Settings (all optional)::

    WAGTAILFRONTENDCACHE = {
        "akamai": {
            "BACKEND": "django_akamai.contrib.wagtail.AkamaiBackend",
            "HOSTNAMES": ["www.example.com"],  # Wagtail's own filter; default: every host
            "ACTION": "invalidate",            # or "delete"; default: AKAMAI_PURGE_OPTIONS
            "NETWORK": "production",           # or "staging"; default: AKAMAI_PURGE_OPTIONS
            "CACHE_TAGS": True,                # pages carry Edge-Cache-Tag: purge them by tag
            "ACCOUNT": "brand-b",              # a name of AKAMAI_ACCOUNTS; default: see below
        },
    }

Several Akamai accounts (a multisite whose sites are on different accounts): one entry per
account, each with its Sites' ``HOSTNAMES`` and its ``ACCOUNT``, a name of
``AKAMAI_ACCOUNTS`` ("default" for the default account). Without ``ACCOUNT``, URLs go to the
account whose ``HOSTNAMES`` in ``AKAMAI_ACCOUNTS`` hold their host, and cache tags to the
default account.

Credentials never go here: Wagtail may pass backend settings as task arguments, so they stay
in the ``AKAMAI_*`` settings, ``AKAMAI_ACCOUNTS`` or the edgerc file, where every other door
reads them; ``ACCOUNT`` names them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.db import router
from wagtail.contrib.frontend_cache.backends.base import BaseBackend

from ... import conf, funnel
from ...exceptions import AkamaiConfigurationError
from ...options import parse_options
from .pages import PAGE_TAG, page_model, page_tag, page_urls, split_page_urls

__all__ = ["AkamaiBackend"]

#: What ``actor`` the purge history and logs name for purges from Wagtail.
ACTOR = "wagtail"
_OPTION_PARAMS = {"ACTION": "action", "NETWORK": "network"}
_KNOWN_PARAMS = {"HOSTNAMES", "CACHE_TAGS", "ACCOUNT", *_OPTION_PARAMS}
_CREDENTIAL_HINT = (
    "credentials are not backend settings: set AKAMAI_CCU_HOST, AKAMAI_CCU_CLIENT_TOKEN, "
    "AKAMAI_CCU_CLIENT_SECRET and AKAMAI_CCU_ACCESS_TOKEN (or AKAMAI_EDGERC_FILENAME), or "
    "give another account its credentials in AKAMAI_ACCOUNTS and name it with ACCOUNT, "
    "because Wagtail may pass backend settings as task arguments"
)


class AkamaiBackend(BaseBackend):
    """Purges through django-akamai: commit-safe, coalesced, retried and paced."""

    def __init__(self, params: dict[str, Any]) -> None:
        params = dict(params)
        unknown = sorted(set(params) - _KNOWN_PARAMS)
        if unknown:
            secretish = [k for k in unknown if any(w in k.upper() for w in ("SECRET", "TOKEN"))]
            raise AkamaiConfigurationError(
                f"WAGTAILFRONTENDCACHE: unknown AkamaiBackend setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(_KNOWN_PARAMS))}"
                + (f" ({_CREDENTIAL_HINT})." if secretish else ".")
            )
        super().__init__(params)
        self.options: dict[str, str] = {
            option: params[param] for param, option in _OPTION_PARAMS.items() if param in params
        }
        # Bad ACTION/NETWORK values fail here, when Wagtail builds the backend, not at a publish.
        parse_options(self.options)
        account = params.get("ACCOUNT")
        if account is not None and not isinstance(account, str):
            raise AkamaiConfigurationError(
                f"WAGTAILFRONTENDCACHE: AkamaiBackend's ACCOUNT must be an account's name "
                f"(a key of AKAMAI_ACCOUNTS, or 'default'), not {account!r}."
            )
        try:
            #: The account this backend purges on (None: URLs by host, tags the default).
            self.account = conf.checked_account(account) if account else None
        except AkamaiConfigurationError as exc:
            raise AkamaiConfigurationError(f"WAGTAILFRONTENDCACHE: ACCOUNT: {exc}") from None
        if account == conf.DEFAULT_ACCOUNT:
            self.account = conf.DEFAULT_ACCOUNT
        self.cache_tags = bool(params.get("CACHE_TAGS", False))
        if self.cache_tags and not apps.is_installed("django_akamai.contrib.wagtail"):
            raise AkamaiConfigurationError(
                "WAGTAILFRONTENDCACHE: AkamaiBackend has CACHE_TAGS on, but page responses are "
                "only tagged with 'django_akamai.contrib.wagtail' in INSTALLED_APPS; add it, "
                "or drop CACHE_TAGS to purge by URL."
            )

    # --- Wagtail's backend API ------------------------------------------------------------

    def purge(self, url: str) -> None:
        self.purge_batch([url])

    def purge_batch(self, urls: Iterable[str]) -> None:
        """Purge ``urls``; with ``CACHE_TAGS``, a page's own URL becomes the page's tag."""
        urls = list(urls)
        if not self.cache_tags:
            self.purge_urls(urls)
            return
        pages, others = split_page_urls(urls)
        self.purge_tags(PAGE_TAG.format(id=pk) for pk in dict.fromkeys(pages.values()))
        self.purge_urls(others)

    # --- for the app's signal handlers and the dependents hook ----------------------------

    def purge_urls(self, urls: Iterable[str], *, actor: str | None = None) -> None:
        """Purge ``urls`` as URLs (never mapped to tags), keeping those of our ``HOSTNAMES``."""
        self._record(
            [url for url in urls if self.invalidates_hostname(urlsplit(url).netloc)],
            "url",
            actor,
        )

    def purge_tags(self, tags: Iterable[str], *, actor: str | None = None) -> None:
        """Purge cache tags (unprefixed: ``AKAMAI_CACHE_TAG_PREFIX`` is added once, later)."""
        self._record(list(tags), "tag", actor)

    def purge_pages(self, pages: Iterable[Any], *, actor: str | None = None) -> None:
        """Purge pages: by their own tag with ``CACHE_TAGS``, else by their URLs."""
        pages = list(pages)
        if self.cache_tags:
            self.purge_tags((page_tag(page) for page in pages), actor=actor)
        else:
            self.purge_urls(page_urls(pages), actor=actor)

    # --- the one door into django-akamai ---------------------------------------------------

    def _record(self, objects: list[Any], object_type: str, actor: str | None = None) -> None:
        if not objects:
            return
        # Recorded as purge intents, in the transaction that changed the pages when there is
        # one (Page's database): a rollback drops them, a commit keeps them; delivery happens
        # after the commit, elsewhere, so a publish never waits on Akamai.
        funnel.record(
            funnel.plan(objects, {**self.options, "type": object_type}, account=self.account),
            using=router.db_for_write(page_model()),
            actor=actor or ACTOR,
        )

    def __repr__(self) -> str:
        return (
            f"<AkamaiBackend hostnames={self.hostnames!r} options={self.options!r} "
            f"cache_tags={self.cache_tags!r} account={self.account!r}>"
        )
