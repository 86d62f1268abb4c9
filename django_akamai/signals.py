"""The original's signals: ``purge_request`` purges, ``queue_purge_request`` queues.

The sender is what to purge: a URL, a list of URLs, a model instance or a QuerySet (or tags
and CP codes with ``type=``)::

    purge_request.send(article)
    purge_request.send(["/a/", "/b/"], action="invalidate", network="staging")
    queue_purge_request.send(Article.objects.filter(section=section))

Keyword arguments: ``action``, ``type``, ``network`` (or ``domain``) or an ``options`` dict;
``using`` (the database whose transaction the purge waits for; default: the sender's, else
``default``), ``actor`` (who asked, for the purge history) and ``account`` (a name of
``AKAMAI_ACCOUNTS``; default: URLs go to the account of their host, tags and CP codes to the
default account). Both signals are commit-safe
(see ``django_akamai.funnel``): inside ``transaction.atomic()`` the purge is recorded as purge
intents in that transaction and delivered after the commit (``AKAMAI_DELIVERY``), packed with
everything else pending, and not at all on rollback; outside a transaction, at once.

``queue_purge_request`` exists only when Celery can be imported, as in the original.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

from .funnel import request_purge
from .options import option_arguments

__all__ = ["purge_request"]


class _AnySenderCache(dict):
    """Signal.send() looks the sender up in this cache, which needs a hashable sender; ours may
    be a list of URLs or an unsaved instance. (These signals never cache: always a miss.)"""

    def get(self, key: Any, default: Any = None) -> Any:
        try:
            return super().get(key, default)
        except TypeError:
            return default


class PurgeSignal(Signal):
    """A signal whose sender is what to purge, hashable or not."""

    def __init__(self) -> None:
        super().__init__()
        self.sender_receivers_cache = _AnySenderCache()


purge_request = PurgeSignal()


def _handle(sender: Any, queue: bool, kwargs: dict[str, Any]) -> Any:
    kwargs.pop("signal", None)
    options = option_arguments(kwargs)
    using = kwargs.pop("using", None)
    actor = kwargs.pop("actor", None) or "signal"
    account = kwargs.pop("account", None)
    if kwargs:
        # A misspelt option must not silently purge the wrong network.
        raise TypeError(
            f"Unexpected argument(s) for a purge signal: {', '.join(sorted(kwargs))}; "
            "expected action, type, network, domain, options, using, actor or account."
        )
    send = _enqueue if queue else None
    return request_purge(
        sender, options=options, using=using, actor=actor, send=send, account=account
    )


def purge_now(sender: Any, **kwargs: Any) -> Any:
    """Receiver of ``purge_request``: purge ``sender`` now, or when the transaction commits."""
    return _handle(sender, False, kwargs)


purge_request.connect(purge_now, dispatch_uid="django_akamai.signals.purge_now")

try:
    from .tasks import enqueue as _enqueue
except ImportError:  # Celery is not installed: no queue_purge_request, as in the original
    _enqueue = None  # type: ignore[assignment]
else:
    queue_purge_request = PurgeSignal()

    def queue_purge(sender: Any, **kwargs: Any) -> Any:
        """Receiver of ``queue_purge_request``: enqueue ``sender`` (after the commit)."""
        return _handle(sender, True, kwargs)

    queue_purge_request.connect(queue_purge, dispatch_uid="django_akamai.signals.queue_purge")
    __all__ += ["queue_purge_request"]
