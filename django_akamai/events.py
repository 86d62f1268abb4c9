"""Internal notifications about requests sent to Akamai (e.g. for the purge history).

Receivers get ``sender`` (the PurgeRequest), ``api``, ``options`` (PurgeOptions),
``objects`` (the request's objects), ``actor`` (who asked: a user, the command, a task) and
either ``result`` (Akamai's decoded answer) or ``error`` (the exception), and what the request
met before its end: ``rate_limited`` (429s waited out) and ``retries`` (transient failures
retried). A receiver that
raises is logged and ignored: recording must never fail a purge.
"""

from django.dispatch import Signal

request_accepted = Signal()
request_failed = Signal()
