"""``manage.py akamai_prune_history``: delete purge records older than the retention period.

Exit status: 0 when done (or nothing to do), 2 on a bad ``--days`` or configuration (a
system check error, a malformed ``AKAMAI_HISTORY_RETENTION_DAYS``): nothing deleted.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

from ... import conf, history
from ..base import EXIT_BAD_CONFIGURATION, AkamaiCommand


class Command(AkamaiCommand):
    help = (
        "Delete purge history records older than AKAMAI_HISTORY_RETENTION_DAYS "
        "(default 90), or --days. Run it daily, e.g. from cron."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=float,
            default=None,
            help="keep this many days instead of AKAMAI_HISTORY_RETENTION_DAYS",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="only count the records that would be deleted"
        )
        parser.add_argument(
            "--database",
            default=None,
            help=f"database alias (default: the router's choice, usually {DEFAULT_DB_ALIAS!r})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days is None:
            days = conf.setting("AKAMAI_HISTORY_RETENTION_DAYS")
            if days is None:
                self.stdout.write(
                    "AKAMAI_HISTORY_RETENTION_DAYS is None: the history is kept "
                    "forever; pass --days to prune anyway. Nothing deleted."
                )
                return
        if not math.isfinite(days) or days < 0:
            raise CommandError(
                f"--days must be a number of days >= 0, not {days!r}.",
                returncode=EXIT_BAD_CONFIGURATION,
            )
        count = history.prune(days, using=options["database"], dry_run=options["dry_run"])
        verb = "would be deleted (dry run)" if options["dry_run"] else "deleted"
        if options["verbosity"] >= 1:
            self.stdout.write(f"{count} purge record(s) older than {days:g} day(s) {verb}.")
