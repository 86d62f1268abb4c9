"""A local emulator of Akamai's purge APIs (Fast Purge v3 over EdgeGrid, CCU v2 over Basic).

For development, demos and tests::

    from django_akamai.emulator import Emulator

    with Emulator(port=0) as emu:
        ...  # point the client at emu.base_url with emu.credentials; inspect emu.purges

From a shell: ``python -m django_akamai.emulator --help``. Nothing here imports Django (nor
anything else of django-akamai). The modules, by what each serves:

* ``controller.py``: the :class:`Emulator`, which starts the parts below and controls them;
  ``cli.py``: the command line (``python -m django_akamai.emulator``, ``akamai_emulator``);
* the purge APIs: ``http_server.py`` (HTTP/1.1 plumbing, transient faults), ``purge_api.py``
  (Fast Purge v3 and CCU v2: routing, authentication, acceptance), ``validation.py`` (what
  a purge body may hold), ``ratelimit.py`` (Akamai's token buckets), ``edgegrid_verify.py``
  (EdgeGrid signature checks), ``credentials.py`` (generated credentials, edgerc),
  ``problems.py`` (Akamai's error bodies and ids), ``messages.py`` (route, request, reply);
* the control API under ``/emulator/``: ``control_api.py``;
* the edge: ``edge.py`` (the cache and how purges reach it), ``edge_http.py`` (its HTTP
  server and Akamai's debug ``Pragma`` headers);
* shared: ``knobs.py`` (behaviour settings), ``faults.py`` (seeded faults of the API and
  the edge), ``state.py`` (accepted purges and counters).
"""

from .controller import Emulator
from .credentials import EmulatorCredentials
from .edge import Edge, ManualClock
from .edgegrid_verify import EdgeGridError
from .state import AcceptedPurge

__all__ = [
    "AcceptedPurge",
    "Edge",
    "EdgeGridError",
    "Emulator",
    "EmulatorCredentials",
    "ManualClock",
]
