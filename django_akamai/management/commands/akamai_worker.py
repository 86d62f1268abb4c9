"""``manage.py akamai_worker``: deliver recorded purge intents until stopped.

Runs ``delivery.worker.deliver_pending`` for every database that holds intents (every
account of each: the default one and each of ``AKAMAI_ACCOUNTS``), again whenever something
is due, polling every ``--interval`` seconds. SIGTERM or SIGINT finishes the request
in flight, then exits. Several workers at once are safe: one holds an account's lease and
sends, the others wait for it. ``AKAMAI_DELIVERY = "worker"`` leaves delivery to this command
alone; with the other modes it is a safety net.

``--burst`` delivers everything pending now (backed-off intents too, each once) and exits:
0 when everything was accepted, 1 when something was refused or is still pending (named on
stderr with Akamai's reason), 2 on bad configuration.

``--status`` prints, per database, the intents pending, being delivered and failed, and how
long the oldest has been waiting, then a line starting ``verified:`` (verification at the
edge over the last 24 hours: URLs fresh, stale and unverifiable, the share fresh, commit →
fresh median and p99); it sends nothing and needs no credentials.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError, connections
from django.utils import timezone

from ... import conf
from ...delivery.lease import new_holder_id
from ...delivery.worker import (
    DeliveryReport,
    deliver_pending,
    intent_databases,
    pending_summary,
    summary_by_account,
)
from ...exceptions import AkamaiConfigurationError
from ...verification.stats import status_line
from ...verification.stats import summary as verification_summary
from ..base import EXIT_BAD_CONFIGURATION, AkamaiCommand

EXIT_NOT_DELIVERED = 1


class Command(AkamaiCommand):
    help = (
        "Deliver recorded purge intents to Akamai until stopped (SIGTERM finishes the "
        "request in flight). --burst delivers what is pending now and exits."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--burst",
            action="store_true",
            help="deliver everything pending now, then exit (0 all accepted, 1 something "
            "refused or left pending, 2 bad configuration)",
        )
        parser.add_argument(
            "--status",
            action="store_true",
            help="print pending, in-flight and failed counts and the oldest pending age; "
            "send nothing",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="seconds between looks at the table when idle (default 1)",
        )
        parser.add_argument(
            "--database",
            action="append",
            default=[],
            metavar="ALIAS",
            help="only this database (may be repeated; default: every one holding intents)",
        )

    def _check_configuration(self) -> None:
        """Exit 2 when no account can be delivered: AKAMAI_ACCOUNTS malformed, or no
        credentials for the default account and no named account. A named account whose
        credentials fail is reported by each delivery, and the others are delivered."""
        try:
            named = conf.accounts()
        except AkamaiConfigurationError as exc:
            raise CommandError(str(exc), returncode=EXIT_BAD_CONFIGURATION) from None
        try:
            conf.resolve_credentials()
        except AkamaiConfigurationError as exc:
            if not named:
                raise CommandError(str(exc), returncode=EXIT_BAD_CONFIGURATION) from None

    def handle(self, *args: Any, **options: Any) -> None:
        aliases = options["database"] or intent_databases()
        unknown = [alias for alias in aliases if alias not in connections]
        if unknown:
            raise CommandError(
                f"Unknown database(s): {', '.join(unknown)}.", returncode=EXIT_BAD_CONFIGURATION
            )
        if options["status"]:
            self._status(aliases)
            return
        self._check_configuration()
        holder = new_holder_id()
        if options["burst"]:
            self._burst(aliases, holder)
        else:
            self._run(aliases, holder, options["interval"])

    # --- --status --------------------------------------------------------------------------

    def _status(self, aliases: list[str]) -> None:
        for alias in aliases:
            summary = pending_summary(alias)
            oldest = summary["oldest_pending"]
            age = f"{(timezone.now() - oldest).total_seconds():.0f}s" if oldest is not None else "-"
            self.stdout.write(
                f"{alias}: pending {summary['pending']}, being delivered {summary['claimed']}, "
                f"failed {summary['failed']}, oldest waiting {age}"
            )
            by_account = summary_by_account(alias)
            if conf.get_setting("AKAMAI_ACCOUNTS") or len(by_account) > 1:
                # Several accounts: what each holds, and what no configured account sends.
                for label, counts in sorted(by_account.items()):
                    self.stdout.write(
                        f"  account {label}: pending {counts['pending']}, being delivered "
                        f"{counts['claimed']}, failed {counts['failed']}"
                    )
        # Verification at the edge, over the last 24 hours of the purge history.
        self.stdout.write(status_line(verification_summary()))

    # --- --burst ---------------------------------------------------------------------------

    def _burst(self, aliases: list[str], holder: str) -> None:
        total = DeliveryReport()
        for alias in aliases:
            while True:
                report = deliver_pending(alias, burst=True, holder=holder)
                total.merge(report)
                if not report.busy:
                    break
                # Another deliverer holds the lease: it delivers these too; wait for it.
                threading.Event().wait(0.2)
        if total.config_error and not total.accepted:
            raise CommandError(total.config_error, returncode=EXIT_BAD_CONFIGURATION)
        self.stdout.write(
            f"Delivered {total.accepted} purge intent(s) in {total.requests} request(s)."
        )
        if total.ok:
            return
        for refusal in total.refused:
            self.stderr.write(f"Refused: {refusal}")
        if total.deferred:
            self.stderr.write(
                f"{total.deferred} purge intent(s) could not be sent and stay pending."
            )
        if total.config_error:
            self.stderr.write(total.config_error)
        raise CommandError(
            f"{len(total.refused)} refused, {total.deferred} still pending.",
            returncode=EXIT_NOT_DELIVERED,
        )

    # --- until stopped ---------------------------------------------------------------------

    def _run(self, aliases: list[str], holder: str, interval: float) -> None:
        stop = threading.Event()

        def on_signal(signum: int, frame: Any) -> None:
            stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        self.stdout.write(f"akamai_worker {holder} delivering for {', '.join(aliases)}")
        try:
            while not stop.is_set():
                for alias in aliases:
                    try:
                        report = deliver_pending(alias, stop=stop, holder=holder)
                    except DatabaseError as exc:
                        # e.g. "database is locked", a restarted database server: the intents
                        # are in the table, the next look delivers them; the worker lives on.
                        self.stderr.write(f"{alias}: delivery failed, trying again: {exc}")
                        continue
                    if report.accepted or report.refused:
                        self.stdout.write(
                            f"{alias}: delivered {report.accepted} in {report.requests} "
                            f"request(s), {len(report.refused)} refused"
                        )
                    for refusal in report.refused:
                        self.stderr.write(f"Refused: {refusal}")
                    if report.config_error:
                        self.stderr.write(report.config_error)
                connections.close_all()
                stop.wait(interval)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("akamai_worker stopped")
