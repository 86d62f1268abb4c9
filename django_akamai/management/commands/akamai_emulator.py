"""``manage.py akamai_emulator``: the same server and options as
``python -m django_akamai.emulator``."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ...emulator.cli import StartupError, add_arguments, serve


class Command(BaseCommand):
    help = (
        "Run a local emulator of Akamai's purge APIs (Fast Purge v3 + CCU v2) and print its "
        "URL and credentials."
    )
    # The emulator is what you start before the AKAMAI_* settings are complete.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        def write(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        try:
            serve(options, write)
        except StartupError as exc:
            raise CommandError(str(exc))
