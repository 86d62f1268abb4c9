"""``manage.py akamai_purge``: purge URLs, cache tags or CP codes from the command line.

Exit status: 0 when Akamai accepted everything (or on a dry run / successful enqueue), 1 when
some objects were not purged (listed on stderr with Akamai's reason), 2 on bad input or
configuration (nothing was sent).
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterable
from typing import Any

from django.core.management.base import CommandError, CommandParser

from ... import conf, funnel, operator_tools
from ...exceptions import (
    AkamaiConfigurationError,
    AkamaiError,
    InvalidPurgeObject,
    NoAkamaiUsernameProvidedException,
)
from ...options import options_dict
from ...purge import PurgeRequest
from ..base import AkamaiCommand

EXIT_NOT_PURGED = 1
EXIT_BAD_INPUT = 2

#: At most this many bad lines are listed; the rest are counted.
MAX_ERRORS_SHOWN = 50


def command_actor() -> str:
    """``command:<OS user>``: who ran the command, for the purge history."""
    try:
        return f"command:{getpass.getuser()}"
    except Exception:  # no passwd entry in some containers
        return "command"


class _BarStream:
    """tqdm redraws with bare ``\\r``: write through the command's stderr without the
    newline and colour Django's OutputWrapper would add."""

    def __init__(self, wrapper: Any):
        self._wrapper = wrapper

    def write(self, text: str) -> None:
        self._wrapper.write(text, style_func=lambda x: x, ending="")

    def flush(self) -> None:
        self._wrapper.flush()

    def isatty(self) -> bool:
        return self._wrapper.isatty()

    def fileno(self) -> int:  # lets tqdm read the terminal's width
        return self._wrapper.fileno()


class Command(AkamaiCommand):
    help = (
        "Purge URLs, cache tags or CP codes from Akamai. URLs come as arguments, or one "
        "per line from --file PATH or '-' (stdin); relative paths are joined to "
        "AKAMAI_BASE_URL."
    )
    # Lets tests (and callers of call_command) hand in a stdin stream.
    stealth_options = ("stdin",)
    # Standard input read once per run (execute() resets it): (lines, decoding errors).
    _stdin: tuple[list[str], list[str]] | None = None

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "objects",
            nargs="*",
            metavar="URL",
            help="URLs or paths to purge ('-' reads them from stdin). With "
            "--type, cache tags or CP codes instead.",
        )
        parser.add_argument(
            "--file",
            "-f",
            action="append",
            default=[],
            metavar="PATH",
            help="read objects one per line ('-' for stdin); blank lines and "
            "lines starting with # are skipped. May be repeated.",
        )
        parser.add_argument(
            "--type",
            choices=["url", "tag", "cpcode"],
            default="url",
            help="what the arguments and --file lines are (default: url)",
        )
        parser.add_argument(
            "--tag",
            action="append",
            default=[],
            metavar="TAG",
            help="a cache tag to purge; may be repeated",
        )
        parser.add_argument(
            "--cpcode",
            action="append",
            default=[],
            metavar="CPCODE",
            help="a CP code to purge; may be repeated",
        )
        parser.add_argument(
            "--everything",
            action="store_true",
            help="purge the site's CP codes (AKAMAI_CPCODES): everything they cover",
        )
        parser.add_argument(
            "--action",
            choices=["invalidate", "delete"],
            help="invalidate (revalidate with the origin) or delete; default "
            "from AKAMAI_PURGE_OPTIONS",
        )
        parser.add_argument(
            "--network",
            choices=["production", "staging"],
            help="default from AKAMAI_PURGE_OPTIONS (production)",
        )
        parser.add_argument(
            "--account",
            metavar="NAME",
            help="the account of AKAMAI_ACCOUNTS to purge on ('default': the default one); "
            "without it, URLs go to the account of their host, tags and CP codes to the "
            "default account",
        )
        parser.add_argument(
            "--queue",
            action="store_true",
            help="enqueue through Celery (django_akamai.tasks) instead of sending now",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="print the request bodies that would be sent; send nothing",
        )
        parser.add_argument(
            "--quiet",
            "-q",
            action="store_true",
            help="no progress output (errors and the summary are still shown)",
        )

    # --- input ---------------------------------------------------------------------------

    def _stdin_lines(self, options: dict[str, Any]) -> tuple[list[str], list[str]]:
        if self._stdin is None:
            stream = options.get("stdin") or sys.stdin
            self._stdin = self._decode(getattr(stream, "buffer", stream), "stdin")
        return self._stdin

    @staticmethod
    def _decode(stream: Iterable[Any], source: str) -> tuple[list[str], list[str]]:
        """Lines as text; a line that is not UTF-8 becomes an error naming it."""
        lines, errors = [], []
        for number, raw in enumerate(stream, 1):
            if isinstance(raw, bytes):
                try:
                    raw = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError:
                    errors.append(f"{source}, line {number}: not UTF-8 text.")
                    raw = ""
            lines.append(raw)
        return lines, errors

    def _read_file(self, path: str, options: dict[str, Any]) -> tuple[list[str], list[str]]:
        if path == "-":
            return self._stdin_lines(options)
        try:
            with open(path, "rb") as handle:
                return self._decode(handle, path)
        except OSError as exc:
            raise CommandError(
                f"Cannot read {path}: {exc.strerror or exc}.", returncode=EXIT_BAD_INPUT
            ) from None

    def _collect(self, options: dict[str, Any]) -> dict[str, list[Any]]:
        """Every object by type, validated; all bad lines reported together."""
        by_type: dict[str, list[Any]] = {"url": [], "tag": [], "cpcode": []}
        errors: list[str] = []

        def take(lines: list[str], object_type: str, source: str, split: bool = True) -> None:
            # An argument is one object; only lines of files (and stdin) are split into words.
            found, bad = operator_tools.read_objects(lines, object_type, source=source, split=split)
            by_type[object_type].extend(found)
            errors.extend(bad)

        main_type = options["type"]
        arguments = [value for value in options["objects"] if value != "-"]
        try:
            take(arguments, main_type, "argument", split=False)
            if "-" in options["objects"] and "-" not in options["file"]:
                lines, bad = self._stdin_lines(options)
                errors.extend(bad)
                take(lines, main_type, "stdin, line")
            for path in dict.fromkeys(options["file"]):  # each file once
                lines, bad = self._read_file(path, options)
                errors.extend(bad)
                take(lines, main_type, f"{'stdin' if path == '-' else path}, line")
            take(options["tag"], "tag", "--tag value", split=False)
            take(options["cpcode"], "cpcode", "--cpcode value", split=False)
            if options["everything"]:
                everything = funnel.site_cpcodes()
                if not everything:
                    raise CommandError(
                        "--everything purges the site's CP codes, and AKAMAI_CPCODES is not "
                        "set; set it to the site's CP codes, e.g. [12345].",
                        returncode=EXIT_BAD_INPUT,
                    )
                by_type["cpcode"].extend(everything)
        except AkamaiConfigurationError as exc:  # e.g. a malformed AKAMAI_BASE_URL
            raise CommandError(str(exc), returncode=EXIT_BAD_INPUT) from None
        if errors:
            shown = errors[:MAX_ERRORS_SHOWN]
            more = len(errors) - len(shown)
            text = "\n".join(shown) + (f"\n... and {more} more." if more > 0 else "")
            raise CommandError(f"Bad input, nothing was sent:\n{text}", returncode=EXIT_BAD_INPUT)
        # De-duplicated here so the counts reported match what is sent.
        return {t: list(dict.fromkeys(objects)) for t, objects in by_type.items() if objects}

    # --- output --------------------------------------------------------------------------

    def _say(self, text: str, options: dict[str, Any]) -> None:
        if options["verbosity"] >= 1:
            self.stdout.write(text)

    def _progress(self, total: int, options: dict[str, Any]) -> tuple[Any, Any]:
        """A callback per request: a tqdm bar on a terminal, plain lines otherwise."""
        if options["quiet"] or options["verbosity"] < 1:
            return None, None
        try:
            from tqdm import tqdm
        except ImportError:  # the 'progress' extra is optional
            tqdm = None
        if tqdm is not None and self.stderr.isatty():
            bar = tqdm(
                total=total,
                unit="obj",
                desc="Purging",
                file=_BarStream(self.stderr),
                dynamic_ncols=True,
                mininterval=0.1,
                leave=True,
            )
            refused = 0

            def on_bar(accepted: bool, objects: list[Any], outcome: Any) -> None:
                nonlocal refused
                if not accepted:
                    refused += len(objects)
                    bar.set_postfix(refused=refused, refresh=False)
                bar.update(len(objects))

            return on_bar, bar
        done = 0
        sent = 0

        def on_line(accepted: bool, objects: list[Any], outcome: Any) -> None:
            nonlocal done, sent
            done += len(objects)
            sent += 1
            if accepted:
                result = outcome if isinstance(outcome, dict) else {}
                self.stdout.write(
                    f"Request {sent}: accepted {len(objects)} object(s) [{done}/{total}], "
                    f"purgeId {result.get('purgeId', '?')}, estimated seconds "
                    f"{result.get('estimatedSeconds', '?')}"
                )
            else:
                status = getattr(outcome, "status", None)
                self.stdout.write(
                    f"Request {sent}: refused {len(objects)} object(s) [{done}/{total}]"
                    + (f", HTTP {status}" if status else "")
                )

        return on_line, None

    # --- the three ways: dry run, queue, send ---------------------------------------------

    def _options_for(self, object_type: str, options: dict[str, Any]) -> dict[str, str]:
        chosen = {"type": object_type}
        for key in ("action", "network"):
            if options[key]:
                chosen[key] = options[key]
        return chosen

    def _routed(self, groups: dict[str, list[Any]], options: dict[str, Any]) -> list[Any]:
        """Each type's objects planned and split by account (``funnel.route``)."""
        return [
            part
            for object_type, items in groups.items()
            for part in funnel.route(
                funnel.planned(
                    items, self._options_for(object_type, options), account=options["account"]
                )
            )
        ]

    def _account_line(self, part: Any) -> str:
        """Names the account, where named accounts are configured."""
        return f" on account {part.account!r}" if conf.accounts() else ""

    def _dry_run(self, groups: dict[str, list[Any]], options: dict[str, Any]) -> None:
        count = objects = 0
        warned = False
        for chosen in self._routed(groups, options):
            try:
                pr = PurgeRequest(
                    options=options_dict(chosen.options),
                    actor=command_actor(),
                    account=chosen.account,
                )
            except NoAkamaiUsernameProvidedException as exc:
                if not exc.nothing_configured:
                    raise
                # Planning needs no credentials: show the Fast Purge v3 bodies.
                if not warned:
                    self.stderr.write("No credentials configured: planning for Fast Purge v3.")
                    warned = True
                requests = funnel.requests(chosen, api="v3")
            else:
                with pr:
                    requests = funnel.requests(chosen, transport=pr.transport)
            for request in requests:
                count += 1
                objects += request.count
                self.stdout.write(
                    f"{request.method} {request.url} ({request.count} object(s), "
                    f"{len(request.body)} bytes){self._account_line(chosen)}"
                )
                self.stdout.write(request.body.decode("utf-8"))
        self.stdout.write(
            f"Dry run: {count} request(s) for {objects} object(s) would be sent; nothing was sent."
        )

    def _queue(self, groups: dict[str, list[Any]], options: dict[str, Any]) -> None:
        try:
            from ...tasks import enqueue
        except ImportError as exc:  # Celery is an optional extra
            raise CommandError(
                f"--queue needs Celery (pip install 'django-akamai[celery]'): {exc}",
                returncode=EXIT_BAD_INPUT,
            ) from None
        for part in self._routed(groups, options):
            # One Celery task per Akamai request; the objects are planned already.
            results = enqueue(part, actor=command_actor())
            ids = [r.id for r in getattr(results, "results", []) if getattr(r, "id", None)]
            self._say(
                f"Queued {len(part)} {operator_tools.TYPE_NOUNS[part.options.type]}(s)"
                f"{self._account_line(part)} in {len(ids)} task(s)"
                + (f": {', '.join(ids)}." if ids else "."),
                options,
            )

    def _send(self, groups: dict[str, list[Any]], options: dict[str, Any]) -> None:
        # Build every request first: a configuration error stops before anything is sent.
        requests = []
        for part in self._routed(groups, options):
            pr = PurgeRequest(
                options=options_dict(part.options), actor=command_actor(), account=part.account
            )
            pr.add_planned(part.objects)  # planned by operator_tools.read_objects
            requests.append(pr)
        total = sum(len(pr.urls) for pr in requests)
        on_request, bar = self._progress(total, options)
        outcomes = []
        try:
            for pr in requests:
                with pr:
                    outcomes.append(operator_tools.send(pr, on_request))
        finally:
            if bar is not None:
                bar.close()
        for outcome in outcomes:
            self._say(operator_tools.summary(outcome), options)
        failed = [o for o in outcomes if not o.ok]
        if not failed:
            return
        for outcome in failed:
            for line in operator_tools.failure_lines(outcome):
                self.stderr.write(line)
            self.stderr.write(f"Not purged ({outcome.noun()}s):")
            for obj in outcome.not_purged:
                self.stderr.write(f"  {obj}")
        missing = sum(len(o.not_purged) for o in failed)
        raise CommandError(f"{missing} object(s) not purged.", returncode=EXIT_NOT_PURGED)

    def execute(self, *args: Any, **options: Any) -> Any:
        self._stdin = None
        return super().execute(*args, **options)

    def handle(self, *args: Any, **options: Any) -> None:
        groups = self._collect(options)
        if not groups:
            raise CommandError(
                "Nothing to purge: give URLs, --file PATH (or '-' for stdin), --tag, --cpcode "
                "or --everything.",
                returncode=EXIT_BAD_INPUT,
            )
        try:
            if options["dry_run"]:
                self._dry_run(groups, options)
            elif options["queue"]:
                self._queue(groups, options)
            else:
                self._send(groups, options)
        except (AkamaiConfigurationError, InvalidPurgeObject) as exc:
            raise CommandError(str(exc), returncode=EXIT_BAD_INPUT) from None
        except AkamaiError as exc:  # anything else from the app: say it, never a traceback
            raise CommandError(str(exc), returncode=EXIT_NOT_PURGED) from None
