"""Delivery: recorded purge intents sent to Akamai, with a bound, by one sender per account.

``modes``   where and when delivery runs (``AKAMAI_DELIVERY``: the background thread and its
            sweep, ``akamai_worker``, Celery, Django Tasks): ``kick``, ``start_sweeping``
``worker``  the deliverer itself: lease, claim, pack, send through ``django_akamai.sender``,
            settle (``deliver_pending``), and the operators' ``retry_failed`` /
            ``discard_failed`` / ``pending_summary``
``lease``   one sender per account at a time, on any database

The names below are the package's public surface (``django_akamai.delivery.wait_idle()`` and
the others keep working from here).
"""

from .modes import MODES, kick, log_report, mode, start_sweeping, stop_background, wait_idle
from .worker import (
    DeliveryReport,
    Refusal,
    account_name,
    deliver_pending,
    discard_failed,
    intent_databases,
    pending_summary,
    retry_failed,
)

__all__ = [
    "MODES",
    "DeliveryReport",
    "Refusal",
    "account_name",
    "deliver_pending",
    "discard_failed",
    "intent_databases",
    "kick",
    "log_report",
    "mode",
    "pending_summary",
    "retry_failed",
    "start_sweeping",
    "stop_background",
    "wait_idle",
]
