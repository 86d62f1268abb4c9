"""The base of django-akamai's management commands: a configuration problem exits with 2.

Django's commands exit with 1 on every ``CommandError``, failed system checks included
(``SystemCheckError``). A cron job or a supervisor retries a 1 ("try again later"); a
configuration problem (a system check error, an ``AkamaiConfigurationError`` while running)
will not mend itself, so these commands exit with 2 for it, as their documentation says.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, SystemCheckError

from ..exceptions import AkamaiConfigurationError

#: The exit status of a configuration problem (and of bad input): nothing was done.
EXIT_BAD_CONFIGURATION = 2


class AkamaiCommand(BaseCommand):
    """A command whose configuration problems exit with ``EXIT_BAD_CONFIGURATION``."""

    def check(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().check(*args, **kwargs)
        except SystemCheckError as exc:
            raise CommandError(
                f"the configuration has errors; nothing was done.\n{exc}",
                returncode=EXIT_BAD_CONFIGURATION,
            ) from None

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute(*args, **options)
        except AkamaiConfigurationError as exc:
            # A setting found bad while running (conf.setting() names it).
            raise CommandError(str(exc), returncode=EXIT_BAD_CONFIGURATION) from None
