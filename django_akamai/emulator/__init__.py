"""A local emulator of Akamai's purge APIs (Fast Purge v3 over EdgeGrid, CCU v2 over Basic).

For development, demos and tests::

    from django_akamai.emulator import Emulator

    with Emulator(port=0) as emu:
        ...  # point the client at emu.base_url with emu.credentials; inspect emu.purges

From a shell: ``python -m django_akamai.emulator --help``. Nothing here imports Django.
"""

from .core import Emulator
from .credentials import EmulatorCredentials
from .edgegrid_verify import EdgeGridError
from .state import AcceptedPurge

__all__ = ["AcceptedPurge", "EdgeGridError", "Emulator", "EmulatorCredentials"]
