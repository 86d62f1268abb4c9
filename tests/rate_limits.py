"""Rate-limit scenes that do not depend on how fast this machine is.

A test that wanted a 429 used to drain a bucket and hope that the next request came before the
bucket refilled (200 URL tokens a second). On a loaded machine it did not, and the 429 never
came. Here the emulator's buckets do not refill at all (``time_scale`` near 0) until our client
has met its first 429 (it logs it, on the ``django_akamai`` logger, before it waits); only then
do they refill, at the test's rate. The client meets exactly the scene the test describes,
however slow the machine is: a competing client's 429s do not count.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

#: Buckets refill at a billionth of Akamai's rate: not one token during any test.
FROZEN = 1e-9


class _ThawOnRateLimit(logging.Handler):
    def __init__(self, emu, time_scale: float) -> None:
        super().__init__(logging.WARNING)
        self.emu, self.time_scale, self.thawed = emu, time_scale, False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.thawed and "rate limit (429)" in record.getMessage():
            self.thawed = True
            self.emu.configure(time_scale=self.time_scale)


@contextmanager
def refill_after_the_first_429(emu, time_scale: float = 1_000.0) -> Iterator[None]:
    """No refill until our client meets a 429 from ``emu``; from then on, at ``time_scale``."""
    logger = logging.getLogger("django_akamai")
    handler = _ThawOnRateLimit(emu, time_scale)
    emu.configure(time_scale=FROZEN)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    assert handler.thawed, "the client never met the 429 the test is about"
