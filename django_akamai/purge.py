"""``PurgeRequest``: the original django-akamai's public class, on Fast Purge v3 and CCU v2.

Collect objects with ``add()``, then ``purge()`` sends the next request-full and
``purge_all()`` sends them all. Objects leave ``urls`` only once Akamai has accepted them.
``add()`` plans what it is given (``django_akamai.funnel``); ``add_planned()`` takes objects a
door planned already, so nothing is normalised twice. Request sizes come from the transport
(``HttpTransport.request_limits``). ``on_request`` (an argument, or the attribute) hears the
outcome of each request this instance sends; use it as a context manager, or ``close()`` it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, cast
from urllib.parse import urlsplit

from django.views.decorators.debug import sensitive_variables

from . import conf, funnel, switches
from .exceptions import (
    AkamaiConfigurationError,
    NoAkamaiPasswordProvidedException,
    NoAkamaiUsernameProvidedException,
    StatusNotAvailable,
)
from .options import Plan, options_mapping, parse
from .sender import RequestCallback, Sender
from .transport import CcuV2Transport

logger = logging.getLogger("django_akamai")

# The original defined its two exceptions here; code that imports them from here keeps working.
__all__ = ["NoAkamaiPasswordProvidedException", "NoAkamaiUsernameProvidedException", "PurgeRequest"]

#: CCU v2 took at most this many objects a request; the original's default batch size.
V2_BATCH_SIZE = CcuV2Transport.default_max_objects


class PurgeRequest:
    """A batch of objects to purge from Akamai, and the client that sends them.

    ``PurgeRequest(username, password)`` uses CCU v2 like the original 1.0; EdgeGrid credentials
    (arguments, ``AKAMAI_CCU_*`` settings or an edgerc file) use Fast Purge v3.
    ``PurgeRequest(account="brand-b")`` sends on a named account of ``AKAMAI_ACCOUNTS``. One
    instance is one account's client: it sends everything added on its account (the other
    doors route URLs to the account of their host; this one does not).
    """

    @sensitive_variables("password", "client_secret", "access_token")
    def __init__(
        self,
        username: str | None = None,
        password: str | None = None,
        options: dict[str, Any] | None = None,
        urls: Iterable[Any] | None = None,
        ccu_base_url: str | None = None,
        *,
        host: str | None = None,
        client_token: str | None = None,
        client_secret: str | None = None,
        access_token: str | None = None,
        edgerc: str | None = None,
        edgerc_section: str | None = None,
        api: str | None = None,
        account: str | None = None,
        actor: str | None = None,
        on_request: RequestCallback | None = None,
        **transport_options: Any,
    ):
        # Secrets from the first line: this frame's locals show on the debug page of any
        # error raised below (with DEBUG = True, sensitive_variables hides nothing).
        password, client_secret, access_token = map(
            conf.hide, (password, client_secret, access_token)
        )
        try:
            self.credentials = conf.resolve_credentials(
                username=username,
                password=password,
                ccu_base_url=ccu_base_url,
                host=host,
                client_token=client_token,
                client_secret=client_secret,
                access_token=access_token,
                edgerc=edgerc,
                edgerc_section=edgerc_section,
                api=api,
                account=account,
            )
        except AkamaiConfigurationError:
            if switches.purging_enabled():
                raise
            conf.checked_account(account)  # an unknown account is a mistake even so
            # A site with purging off (AKAMAI_PURGE_ENABLED = False) may have no credentials:
            # this request never sends, so a stand-in that cannot reach anything will do.
            self.credentials = conf.PURGING_OFF_CREDENTIALS
        self.options = options_mapping(options)
        self.purge_options = parse(options)
        self._sender = Sender(
            self.credentials,
            actor=actor,
            on_request=on_request,
            owner=self,
            account=account,
            **transport_options,
        )
        self.transport = self._sender.transport
        self.max_body_bytes = self._sender.max_body_bytes
        # Raises for options this API cannot send (CCU v2 has no tags): now, not at send time.
        self._sender.envelope(self.purge_options)
        self.urls: list[Any] = []
        # What ``urls`` holds, as a set: built only when a second add() needs it.
        self._queued: set[Any] | None = None
        self.results: list[dict[str, Any]] = []
        self.last_result: dict[str, Any] | None = None
        #: Why the last ``purge()``/``purge_all()`` sent nothing: ``switches.DISABLED``
        #: (purging is off) or ``switches.SUSPENDED`` (a ``suspend_purges()`` block purges it
        #: at its end).
        self.held_by: str | None = None
        if urls is not None:
            self.add(urls)

    @property
    def actor(self) -> str | None:
        """Who asked for this purge ("admin:alice", "command", "task"); kept in the history."""
        return self._sender.actor

    @actor.setter
    def actor(self, value: str | None) -> None:
        self._sender.actor = value

    @property
    def on_request(self) -> RequestCallback | None:
        """Called after each request this instance sends (see ``RequestCallback``)."""
        return self._sender.on_request

    @on_request.setter
    def on_request(self, value: RequestCallback | None) -> None:
        self._sender.on_request = value

    # --- public attributes of the original ------------------------------------------------

    @property
    def api(self) -> str:
        """``'v3'`` (Fast Purge, EdgeGrid) or ``'v2'`` (CCU REST API, Basic auth)."""
        return self.credentials.api

    @property
    def account(self) -> str:
        """The account it sends on: a name of ``AKAMAI_ACCOUNTS``, or "default"."""
        return self._sender.account or conf.DEFAULT_ACCOUNT

    @property
    def username(self) -> str | None:
        return getattr(self.credentials, "username", None)

    @property
    def last_response(self):
        """The last HTTP response (a ``requests.Response``), as in the original."""
        return self.transport.last_response

    @property
    def ccu_base_url(self) -> str:
        return self.transport.base_url

    def close(self) -> None:
        """Close the HTTP session (its pooled connections)."""
        self.transport.close()

    def __enter__(self) -> PurgeRequest:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        o = self.purge_options
        words = (
            o.v2()
            if self.api == "v2"
            else {"action": o.action, "type": o.type, "domain": o.network}
        )
        return (
            f"<PurgeRequest api={self.api} host={self.transport.base_url} "
            f"action={words['action']} type={words['type']} network={words['domain']} "
            f"pending={len(self.urls)}>"
        )

    # --- collecting -------------------------------------------------------------------------

    def add(self, urls: Any) -> int:
        """Queue URLs (strings, model instances, QuerySets, iterables), tags or CP codes.

        Everything is validated before anything is queued: on a bad value nothing of this call
        is added, and the exception names the value. Returns how many new objects were queued.
        """
        return self._queue(funnel.plan(urls, self.purge_options, api=self.api).objects)

    def add_planned(self, objects: Iterable[Any]) -> int:
        """Queue objects that ``django_akamai.funnel`` planned already, as they are.

        For doors that planned once (the signals, the task, the command, the deliverer): the
        tag prefix and URL normalisation are not applied a second time. Returns how many new
        objects were queued.
        """
        # Checked again: its planner may have assumed another API's envelope.
        return self._queue(funnel.planned(list(objects), self.purge_options, api=self.api).objects)

    def _queue(self, accepted: tuple[Any, ...]) -> int:
        """Queue planned objects (each once already) that are not queued yet."""
        if not self.urls:  # the usual case, one add() before sending: no set is needed
            fresh = list(accepted)
            self._queued = None
        else:
            queued = self._queued
            if queued is None or len(queued) != len(self.urls):
                queued = self._queued = set(self.urls)  # needed now, or .urls edited by hand
            fresh = [obj for obj in accepted if obj not in queued]
            queued.update(fresh)
        self.urls.extend(fresh)
        return len(fresh)

    def _unqueue(self, batch: list[Any]) -> None:
        if self._queued is not None:
            self._queued.difference_update(batch)

    # --- sending ---------------------------------------------------------------------------

    def _next_batch_size(self, start: int, purge_batch_size: int | None) -> int:
        return self._sender.count_fitting(self.urls, self.purge_options, start, purge_batch_size)

    def _held(self, count: int) -> bool:
        """Ask the purge switches about the next ``count`` objects; when held, they leave
        ``urls``."""
        if switches.holding() is None:
            return False  # without planning a copy of the batch: it delays the first request
        batch = self.urls[:count]
        self.held_by = switches.hold(
            Plan(self.purge_options, tuple(batch), self.account), actor=self.actor
        )
        if self.held_by is None:
            return False
        del self.urls[:count]
        self._unqueue(batch)
        return True

    def _send(self, count: int) -> dict[str, Any]:
        """Send the first ``count`` of ``urls``; on acceptance drop them from ``urls``."""
        batch = self.urls[:count]
        result = self._sender.send(batch, self.purge_options)
        del self.urls[:count]
        self._unqueue(batch)
        self.last_result = result
        self.results.append(result)
        return result

    def purge(self, purge_batch_size: int | None = None) -> dict[str, Any] | None:
        """Send the next request-full of objects; return Akamai's decoded answer.

        Fast Purge packs as many objects as fit in 50,000 bytes of body; CCU v2 sends at most
        ``purge_batch_size`` (default 200). Returns ``None`` when nothing is queued, or when
        the objects were held (``held_by``: purging is off, or suspended).
        """
        self.held_by = None
        if not self.urls:
            return None
        count = self._next_batch_size(0, purge_batch_size)
        if self._held(count):
            return None
        return self._send(count)

    def purge_all(self, purge_batch_size: int | None = None) -> list[dict[str, Any]]:
        """Send every queued object; return the list of results.

        A refused request does not stop the others: its objects stay in ``urls`` and, once
        every other batch is sent, ``PurgeIncomplete`` lists them all. Transient failures that
        outlast the retries stop at once (Akamai is unreachable); the rest stay queued.
        Returns ``[]`` when the objects were held (``held_by``: purging is off, or suspended).
        """
        self.held_by = None
        if self.urls and self._held(len(self.urls)):
            return []
        try:
            return self._sender.send_all(
                self.urls, self.purge_options, purge_batch_size, into=self.results
            )
        finally:
            self._queued = None  # rebuilt from ``urls`` when a later add() needs it
            if self.results:
                self.last_result = self.results[-1]

    # --- CCU v2 status --------------------------------------------------------------------

    def _require_v2(self, what: str) -> None:
        if self.api != "v2":
            raise StatusNotAvailable(
                f"{what} exists only in the retired CCU v2 API. Fast Purge v3 has no status "
                "or queue endpoint: a purge completes about estimatedSeconds (typically 5 s) "
                "after Akamai accepted it."
            )

    def check_purge_status(self, progress_uri: str) -> dict[str, Any]:
        """CCU v2: the status of a purge, from the ``progressUri`` of its result."""
        self._require_v2("check_purge_status()")
        path = urlsplit(progress_uri).path if "://" in progress_uri else progress_uri
        return cast(CcuV2Transport, self.transport).purge_status(path)

    def check_queue_length(self) -> dict[str, Any]:
        """CCU v2: the length of the account's purge queue."""
        self._require_v2("check_queue_length()")
        return cast(CcuV2Transport, self.transport).queue_length()
