"""`make demo`: start the emulator, change a post, purge it every way, show what Akamai got."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings

from blog.models import Post
from django_akamai import delivery, suspend_purges
from django_akamai.emulator import Emulator
from django_akamai.purge import PurgeRequest


def emulator_settings(emu: Emulator) -> dict[str, str]:
    creds = emu.credentials
    return {
        "AKAMAI_CCU_API": "v3",
        "AKAMAI_CCU_HOST": creds.host,
        "AKAMAI_CCU_CLIENT_TOKEN": creds.client_token,
        "AKAMAI_CCU_CLIENT_SECRET": creds.client_secret,
        "AKAMAI_CCU_ACCESS_TOKEN": creds.access_token,
    }


HAND_TRY = """\
  From example/, in one terminal start the emulator (it writes .edgerc for the site):
    ../.venv/bin/python -m django_akamai.emulator --edgerc .edgerc
  In a second one, give the site a database and an admin user, and serve it:
    export DEMO_DATABASE=db.sqlite3
    ../.venv/bin/python manage.py migrate
    ../.venv/bin/python manage.py createsuperuser
    ../.venv/bin/python manage.py runserver
  Then open http://127.0.0.1:8000/admin/: add or change a post (it is purged after the
  save), use Akamai > Purge URLs, and watch Akamai > Akamai status. What the emulator got:
    curl http://127.0.0.1:8765/emulator/purges"""


def shortened(objects: tuple, shown: int = 3) -> str:
    more = len(objects) - shown
    return ", ".join(map(str, objects[:shown])) + (f" (+{more} more)" if more > 0 else "")


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    fmt = "|" + "|".join(f" {{:<{w}}} " for w in widths) + "|"
    out = [line, fmt.format(*headers), line.replace("-", "=")]
    out += [fmt.format(*row) for row in rows]
    out.append(line)
    return "\n".join(out)


class Command(BaseCommand):
    help = "Run the django-akamai demo against the built-in Akamai emulator."

    def step(self, text: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"\n» {text}"))

    def handle(self, *args, **options) -> None:
        with Emulator(port=0) as emu, override_settings(**emulator_settings(emu)):
            self.stdout.write(f"Akamai emulator (Fast Purge v3 + CCU v2) on {emu.base_url}")
            call_command("migrate", verbosity=0)

            self.step("Create a post and purge its URL with PurgeRequest")
            post = Post.objects.create(slug="hello", title="Hello")
            pr = PurgeRequest(actor="demo")
            pr.add(post)
            result = pr.purge()
            self.stdout.write(
                f"  {post.get_absolute_url()} -> purgeId {result['purgeId']}, "
                f"about {result['estimatedSeconds']} s"
            )

            self.step(
                "Change the slug; purge the old and the new address with the "
                "purge_request signal, after the transaction commits"
            )
            from django_akamai.signals import purge_request

            with transaction.atomic():
                old_url = post.get_absolute_url()
                post.slug = "hello-world"
                post.save()
                purge_request.send([old_url, post])
                self.stdout.write(f"  inside the transaction: {len(emu.purges)} purge(s) so far")
            self.stdout.write(f"  after commit: {len(emu.purges)} purge(s)")

            try:
                from django_akamai.signals import queue_purge_request
            except ImportError:
                self.stdout.write("  (Celery is not installed: queue_purge_request skipped)")
            else:
                self.step(
                    "Queue a purge through Celery with queue_purge_request "
                    "(the demo runs tasks in-process)"
                )
                [(_, results)] = queue_purge_request.send(Post.objects.all(), action="delete")
                self.stdout.write(
                    f"  {results.get()} object(s) purged by {len(results.results)} task(s)"
                )

            self.step(
                "Declare automatic purging (AKAMAI_PURGE_MODELS) and rename the post: "
                "its old and new address and the list page go out after the commit"
            )
            declared = {"blog.Post": {"urls": ["/posts/"]}}
            with override_settings(AKAMAI_PURGE_MODELS=declared):
                with transaction.atomic():
                    post.slug = "hello-again"
                    post.title = "Hello again"
                    post.save()
                    self.stdout.write(f"  inside the transaction: {len(emu.purges)} purge(s)")
                delivery.wait_idle()
                self.stdout.write(f"  after commit: {', '.join(map(str, emu.purges[-1].objects))}")

                self.step(
                    "A bulk import inside suspend_purges(): 20 new posts, every purge "
                    "collected and sent once at the end"
                )
                before = len(emu.purges)
                with suspend_purges() as held:
                    for n in range(20):
                        Post.objects.create(slug=f"imported-{n}", title=f"Imported {n}")
                    self.stdout.write(f"  inside the block: {len(emu.purges) - before} request(s)")
                delivery.wait_idle()
                self.stdout.write(
                    f"  at its end: {held.count} object(s) in {len(emu.purges) - before} request(s)"
                )

            self.step("What the emulator accepted")
            rows = [
                [
                    str(i),
                    p.api,
                    p.action,
                    p.type,
                    p.network,
                    shortened(p.objects),
                    p.purge_id,
                ]
                for i, p in enumerate(emu.purges, 1)
            ]
            self.stdout.write(
                table(rows, ["#", "API", "action", "type", "network", "objects", "purgeId"])
            )
            counters = emu.counters
            self.stdout.write(
                f"{counters['accepted']} request(s) accepted, "
                f"{counters['objects_accepted']} object(s) purged."
            )
        self.stdout.write("Emulator stopped.")
        self.stdout.write(self.style.MIGRATE_HEADING("\n» Try the admin by hand"))
        self.stdout.write(HAND_TRY)
