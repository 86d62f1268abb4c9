"""Proof at the edge: each URL purge checked fresh where users see it (``AKAMAI_VERIFY``).

Off unless ``AKAMAI_VERIFY`` is set. The modules, each with one job:

``options``
    ``AKAMAI_VERIFY`` read and validated once (EDGE, ORIGIN, SAMPLE, MARGIN, RATE, ...).
``probe``
    One GET through the edge with Akamai's debug ``Pragma`` headers (and, with ``ORIGIN``, a
    conditional GET to the origin for the current version stamp): the HTTP exchange only.
``judge``
    What one probe says about one URL: fresh, stale or unverifiable, and why.
``worker``
    The verifier's own background thread: waits ``estimatedSeconds`` plus the margin, probes
    a bounded sample at a bounded rate and concurrency, purges stale URLs once more through
    the funnel and checks them again.
``outcome``
    Writes each purge's outcome on its history record (``PurgeRecord``).
``stats``
    The share verified fresh and the commit → fresh latency over a recent window, for the
    status page, ``akamai_worker --status`` and the admin.
``receivers``
    Connected to ``sender.request_accepted`` when the app is ready: hands each accepted
    request to the worker without waiting.

Nothing here runs in a save or a delivery but the receiver, which only queues.
"""
