"""pytest fixtures that run your tests against the built-in Akamai emulator.

Load them from a ``conftest.py``::

    pytest_plugins = ["django_akamai.testing"]

Fixtures:

``akamai_emulator_server`` (session)
    One :class:`~django_akamai.emulator.Emulator` on a free port of 127.0.0.1 for the whole
    run. Rarely used directly.
``akamai_emulator``
    The same emulator, reset (no purges, zero counters, full buckets, fresh nonces), with the
    Django ``AKAMAI_*`` settings pointed at it and Fast Purge v3 selected. Change its
    behaviour in a test with ``akamai_emulator.configure(fail_rate=0.3, seed=1)`` and friends;
    every knob returns to its default after the test.
``akamai_emulator_v2``
    The same with ``AKAMAI_CCU_API = "v2"`` (CCU v2, Basic auth).
``akamai_edge``
    An emulated edge (:class:`~django_akamai.emulator.edge.Edge`) in front of pytest-django's
    ``live_server``, purged by ``akamai_emulator``: request pages from ``edge.base_url`` (or
    with ``edge.wait_until_fresh(url, is_fresh)``), purge through django-akamai as usual,
    and the edge applies each purge ``estimatedSeconds`` later. Its public host is
    ``AKAMAI_BASE_URL``'s, so the URLs django-akamai purges are the edge's cache keys.
    ``akamai_emulator.configure(time_scale=50)`` makes Akamai's 5 s take 0.1 s.

Both function-scoped fixtures use pytest-django's ``settings`` fixture, so pytest-django must
be installed; this module itself imports neither Django nor pytest-django, so loading it does
not need configured settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .emulator import Emulator
from .emulator.edge import Edge


def emulator_settings(emu: Emulator, api: str) -> dict[str, str]:
    """The ``AKAMAI_*`` settings that point django-akamai at ``emu`` using ``api``."""
    creds = emu.credentials
    return {
        "AKAMAI_CCU_HOST": emu.base_url,
        "AKAMAI_CCU_CLIENT_TOKEN": creds.client_token,
        "AKAMAI_CCU_CLIENT_SECRET": creds.client_secret,
        "AKAMAI_CCU_ACCESS_TOKEN": creds.access_token,
        "AKAMAI_CCUAPI_USERNAME": creds.username,
        "AKAMAI_CCUAPI_PASSWORD": creds.password,
        "AKAMAI_CCUAPI_BASE_URL": emu.base_url,
        "AKAMAI_CCU_API": api,
    }


@pytest.fixture(scope="session")
def akamai_emulator_server() -> Iterator[Emulator]:
    with Emulator(port=0) as emu:
        yield emu


def _clean(emu: Emulator) -> None:
    # Imported here: loading this plugin must not import Django (see the docstring).
    emu.restore_defaults()
    emu.reset()
    # The buckets are full again: the process's shared view of them is stale.
    # Imported here: the pytest plugin (this module) must load without Django.
    from .transport import forget_accounts

    forget_accounts()


def _prepared(emu: Emulator, settings: Any, api: str) -> Iterator[Emulator]:
    _clean(emu)
    for name, value in emulator_settings(emu, api).items():
        setattr(settings, name, value)
    try:
        yield emu
    finally:
        # The next test starts from the defaults even if this one changed knobs and failed.
        _clean(emu)


@pytest.fixture
def akamai_emulator(akamai_emulator_server: Emulator, settings: Any) -> Iterator[Emulator]:
    """The emulator, reset, with the AKAMAI_* settings pointing at it (Fast Purge v3)."""
    yield from _prepared(akamai_emulator_server, settings, "v3")


@pytest.fixture
def akamai_edge(akamai_emulator: Emulator, live_server: Any, settings: Any) -> Iterator[Edge]:
    """An emulated edge in front of ``live_server``, purged by ``akamai_emulator``."""
    from urllib.parse import urlsplit

    base_url = getattr(settings, "AKAMAI_BASE_URL", None) or "http://testserver"
    edge = akamai_emulator.start_edge(live_server.url, public_host=urlsplit(base_url).netloc)
    try:
        yield edge
    finally:
        akamai_emulator.stop_edge()


@pytest.fixture
def akamai_emulator_v2(akamai_emulator_server: Emulator, settings: Any) -> Iterator[Emulator]:
    """The emulator, reset, with the AKAMAI_* settings pointing at it (CCU v2)."""
    yield from _prepared(akamai_emulator_server, settings, "v2")
