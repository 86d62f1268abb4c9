"""``python -m django_akamai.emulator``: see ``cli.py``."""

import sys

from .cli import main

sys.exit(main())
