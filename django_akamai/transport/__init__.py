"""One small module per Akamai API on a shared HTTP layer (``base``).

``transport_for()`` is the one way in: it builds the transport for a credentials object,
over the process's shared session and bucket view for that account (see ``sharing``).
"""

from typing import Any

from .base import HttpTransport, RequestLimits, RetryPolicy
from .ccu_v2 import CcuV2Transport
from .fast_purge import FastPurgeTransport
from .sharing import account_link, forget_accounts

__all__ = [
    "CcuV2Transport",
    "FastPurgeTransport",
    "HttpTransport",
    "RequestLimits",
    "RetryPolicy",
    "forget_accounts",
    "transport_class",
    "transport_for",
]


def transport_class(api: str) -> type[FastPurgeTransport] | type[CcuV2Transport]:
    """The transport class of ``api`` (``"v2"`` or ``"v3"``), for planning without credentials."""
    return CcuV2Transport if api == "v2" else FastPurgeTransport


def transport_for(credentials: Any, **kwargs: Any) -> FastPurgeTransport | CcuV2Transport:
    """The transport matching a credentials object from ``conf.resolve_credentials``.

    It sends over the account's shared session and paces from its shared bucket view,
    unless the caller brings its own ``session``, or its own ``clock`` (then the pacer is
    private: its times only mean something against that clock).
    """
    cls = transport_class(credentials.api)
    if "session" not in kwargs:
        link = account_link(credentials, cls.make_auth)
        kwargs["session"] = link.session
        if "clock" not in kwargs:
            kwargs.setdefault("pacer", link.pacer)
    return cls(credentials, **kwargs)
