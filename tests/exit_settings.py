"""Settings of the exit-status tests (tests/test_command_exit_status.py): the pipeline
processes' settings, then the ``AKAMAI_*`` values in the JSON of ``AKAMAI_TEST_OVERRIDES``,
so a child process can be given a setting of any type, a malformed one included."""

import json
import os

from tests.pipeline_settings import *  # noqa: F403

for _name, _value in json.loads(os.environ.get("AKAMAI_TEST_OVERRIDES", "{}")).items():
    assert _name.startswith("AKAMAI_"), _name
    globals()[_name] = _value

# The test models keep Django's implicit AutoField; its warning would clutter the output.
SILENCED_SYSTEM_CHECKS = ["models.W042"]
