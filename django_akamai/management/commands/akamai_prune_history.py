"""``manage.py akamai_prune_history``: delete purge records older than the retention period,
and failed purge intents older than theirs (``AKAMAI_FAILED_INTENT_RETENTION_DAYS``).

Exit status: 0 when done (or nothing to do), 2 on a bad ``--days`` or configuration (a
system check error, a malformed retention setting): nothing deleted.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, router

from ... import conf, history
from ...models import PurgeIntent
from ..base import EXIT_BAD_CONFIGURATION, AkamaiCommand


class Command(AkamaiCommand):
    help = (
        "Delete purge history records older than AKAMAI_HISTORY_RETENTION_DAYS "
        "(default 90), or --days, and failed purge intents older than "
        "AKAMAI_FAILED_INTENT_RETENTION_DAYS (default 30). Run it daily, e.g. from cron."
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
        self._prune_history(options)
        self._prune_failed_intents(options)

    def _prune_failed_intents(self, options: dict[str, Any]) -> None:
        days = conf.setting("AKAMAI_FAILED_INTENT_RETENTION_DAYS")  # exit 2 when malformed
        if days is None:
            return  # kept until an operator retries or discards them
        using = options["database"] or router.db_for_write(PurgeIntent)
        if not router.allow_migrate_model(using, PurgeIntent):
            return  # the intent table is not on this database
        if options["dry_run"]:
            count = (
                PurgeIntent.objects.using(using)
                .filter(status=PurgeIntent.FAILED)
                .filter(created_at__lt=PurgeIntent.objects.cutoff(timedelta(days=days)))
                .count()
            )
            verb = "would be deleted (dry run)"
        else:
            count = PurgeIntent.objects.using(using).prune_failed(timedelta(days=days))
            verb = "deleted"
        if options["verbosity"] >= 1:
            self.stdout.write(f"{count} failed purge intent(s) older than {days:g} day(s) {verb}.")

    def _prune_history(self, options: dict[str, Any]) -> None:
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
