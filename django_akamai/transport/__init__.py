"""One small module per Akamai API on a shared HTTP layer (``base``)."""

from typing import Any

from .base import HttpTransport, RequestLimits, RetryPolicy
from .ccu_v2 import CcuV2Transport
from .fast_purge import FastPurgeTransport

__all__ = [
    "CcuV2Transport",
    "FastPurgeTransport",
    "HttpTransport",
    "RequestLimits",
    "RetryPolicy",
    "transport_class",
    "transport_for",
]


def transport_class(api: str) -> type[FastPurgeTransport] | type[CcuV2Transport]:
    """The transport class of ``api`` (``"v2"`` or ``"v3"``), for planning without credentials."""
    return CcuV2Transport if api == "v2" else FastPurgeTransport


def transport_for(credentials: Any, **kwargs: Any) -> FastPurgeTransport | CcuV2Transport:
    """The transport matching a credentials object from ``conf.resolve_credentials``."""
    return transport_class(credentials.api)(credentials, **kwargs)
