"""One small module per Akamai API on a shared HTTP layer (``base``)."""

from typing import Any

from .base import HttpTransport, RetryPolicy
from .ccu_v2 import CcuV2Transport
from .fast_purge import FastPurgeTransport

__all__ = ["CcuV2Transport", "FastPurgeTransport", "HttpTransport", "RetryPolicy", "transport_for"]


def transport_for(credentials: Any, **kwargs: Any) -> FastPurgeTransport | CcuV2Transport:
    """The transport matching a credentials object from ``conf.resolve_credentials``."""
    if credentials.api == "v2":
        return CcuV2Transport(credentials, **kwargs)
    return FastPurgeTransport(credentials, **kwargs)
