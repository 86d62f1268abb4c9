"""Settings for running ``manage.py akamai_purge`` in a child process (tests/test_command*).

The tests' settings, plus the emulator's address and credentials from the environment: a
child process cannot see the parent's ``settings`` fixture.
"""

import os

from tests.settings import *  # noqa: F403

for _name in (
    "AKAMAI_CCU_HOST",
    "AKAMAI_CCU_CLIENT_TOKEN",
    "AKAMAI_CCU_CLIENT_SECRET",
    "AKAMAI_CCU_ACCESS_TOKEN",
):
    if _name in os.environ:
        globals()[_name] = os.environ[_name]

# The child's in-memory database has no tables; the history is tested in-process.
AKAMAI_HISTORY = False

# The test models keep Django's implicit AutoField; its warning would clutter the output.
SILENCED_SYSTEM_CHECKS = ["models.W042"]
