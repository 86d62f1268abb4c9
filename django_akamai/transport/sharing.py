"""One HTTP session and one view of the rate-limit buckets per Akamai account and process.

Every ``PurgeRequest``, task and signal handler used to build its own ``requests.Session``
and an empty pacer: against Akamai that is a new TLS handshake for every purge, and a pacer
that has to learn the buckets again (through a 429) each time. Both belong to the account,
not to the caller, so they are kept here, once per process and account:

- the session (keep-alive connections, TLS, the signing auth);
- the ``RateLimitPacer`` (the last X-Ratelimit headers seen for that account).

What stays per caller is the transport object itself (``transport_for()`` builds a cheap one
each time): its retry policy, timeouts, and counters (``requests_sent``, ``rate_limited``,
``retries``, ``last_response``), which callers and tests read as "what *this* purge did".

How the deliverer (``delivery.worker``, one sender per account) uses it: it builds a
``PurgeRequest`` (so ``transport_for()``) per group and round, which is cheap now: every one
sends over the account's shared session and paces from the same bucket view as every other
sender in the process. ``pacer.restore()`` of the lease's snapshot (the view another process
left) only replaces what is older than what this process has seen. ``close()`` on such a
transport leaves the shared session open; sessions are closed at interpreter exit,
forgotten in a forked child (its parent's sockets are not its own), and ``forget_accounts()``
drops them all (the test fixtures call it when they reset the emulator's buckets).

Keyed by the credentials' identity (every field but where they were read from), so two
``PurgeRequest`` objects with the same account share, and different accounts never do.
Thread-safe: a lock guards the registry, and ``requests`` pools connections per thread-safe
urllib3 pool. A caller that passes its own ``clock`` (tests) gets a private pacer, since a
pacer's times are only meaningful against the clock it was fed.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import requests

from .base import new_session
from .pacing import RateLimitPacer

#: Accounts kept at once; the least recently used one beyond this is closed and forgotten.
MAX_ACCOUNTS = 32


@dataclasses.dataclass
class AccountLink:
    """What a process shares for one account: the HTTP session and the bucket view."""

    session: requests.Session
    pacer: RateLimitPacer


_lock = threading.Lock()
_links: OrderedDict[tuple[Any, ...], AccountLink] = OrderedDict()


def _identity(credentials: Any) -> tuple[Any, ...]:
    fields = (
        getattr(credentials, f.name)
        for f in dataclasses.fields(credentials)
        if f.name != "source"  # the same account read from settings or from arguments
    )
    return (type(credentials), *fields)


def account_link(credentials: Any, make_auth: Callable[[Any], Any]) -> AccountLink:
    """The process's session and pacer for ``credentials``, created on first use."""
    key = _identity(credentials)
    with _lock:
        link = _links.get(key)
        if link is None:
            link = AccountLink(session=new_session(make_auth(credentials)), pacer=RateLimitPacer())
            _links[key] = link
            while len(_links) > MAX_ACCOUNTS:
                _links.popitem(last=False)[1].session.close()
        else:
            _links.move_to_end(key)
        return link


def forget_accounts(*, close: bool = True) -> None:
    """Drop every shared session and bucket view (closing the sessions unless told not to)."""
    with _lock:
        links = list(_links.values())
        _links.clear()
    if close:
        for link in links:
            link.session.close()


def _forget_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # a lock held by another thread at fork time stays held
    _links.clear()


atexit.register(forget_accounts)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
