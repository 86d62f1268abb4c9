"""`make demo`: start the emulator, change a post, purge it every way, show what Akamai got;
then the same story through the emulated edge: a page served from the edge, the post changed
and saved, the purge delivered, and the page fresh at the edge N seconds later, by URL and
by cache tag."""

from __future__ import annotations

import time
from collections.abc import Callable

import requests
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings

from blog.models import Post
from django_akamai import delivery, suspend_purges
from django_akamai.emulator import Emulator
from django_akamai.emulator.edge import Edge
from django_akamai.purge import PurgeRequest

PUBLIC_HOST = "www.example.com"  # AKAMAI_BASE_URL's host: the edge serves it
DEBUG_PRAGMA = {"Pragma": "akamai-x-cache-on, akamai-x-get-cache-key, akamai-x-get-cache-tags"}


def emulator_settings(emu: Emulator) -> dict[str, str]:
    creds = emu.credentials
    return {
        "AKAMAI_CCU_API": "v3",
        "AKAMAI_CCU_HOST": creds.host,
        "AKAMAI_CCU_CLIENT_TOKEN": creds.client_token,
        "AKAMAI_CCU_CLIENT_SECRET": creds.client_secret,
        "AKAMAI_CCU_ACCESS_TOKEN": creds.access_token,
    }


HAND_TRY = f"""\
  From example/, in one terminal start the emulator and its edge in front of the site
  (it writes .edgerc for the site):
    ../.venv/bin/python -m django_akamai.emulator --edgerc .edgerc \\
        --edge-origin http://127.0.0.1:8000 --edge-host {PUBLIC_HOST}
  In a second one, give the site a database and an admin user, and serve it:
    export DEMO_DATABASE=db.sqlite3
    ../.venv/bin/python manage.py migrate
    ../.venv/bin/python manage.py createsuperuser
    ../.venv/bin/python manage.py runserver
  Then open http://127.0.0.1:8000/admin/: add or change a post (it is purged after the
  save), use Akamai > Purge URLs, and watch Akamai > Akamai status. The page at the edge:
    curl -H 'Pragma: akamai-x-cache-on' http://127.0.0.1:8766/posts/
  What the emulator got:
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

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--time-scale",
            type=float,
            default=1.0,
            help="divide Akamai's 5 s purge time by this (1: real time)",
        )

    def say(self, text: str) -> None:
        self.stdout.write(f"  {text}")

    def handle(self, *args, **options) -> None:
        with (
            Emulator(port=0, time_scale=options["time_scale"]) as emu,
            override_settings(**emulator_settings(emu)),
        ):
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
            with origin_server() as origin_url:
                self.edge_story(emu, origin_url)
        self.stdout.write("Emulator stopped.")
        self.stdout.write(self.style.MIGRATE_HEADING("\n» Try the admin by hand"))
        self.stdout.write(HAND_TRY)

    # --- the edge ---------------------------------------------------------------------------

    def edge_story(self, emu: Emulator, origin_url: str) -> None:
        self.step("Start the emulated edge (a caching proxy, purged by the emulator)")
        edge = emu.start_edge(origin_url, public_host=PUBLIC_HOST)
        delay = 5 / emu.knobs.time_scale
        self.say(f"origin (this Django site): {origin_url}")
        self.say(f"edge: {edge.base_url}, serving {PUBLIC_HOST}")
        self.say(f"purges reach it {delay:g} s after Akamai accepts them (estimatedSeconds)")
        try:
            self.url_story(emu, edge)
            self.tag_story(emu, edge)
        finally:
            emu.stop_edge()

    def fetch(self, edge: Edge, path: str) -> tuple[str, str]:
        """(X-Cache verdict, body) of a GET through the edge, with Akamai's debug Pragma."""
        response = requests.get(edge.base_url + path, headers=DEBUG_PRAGMA, timeout=10)
        return response.headers.get("X-Cache", "").split(" ")[0], response.text

    def served(self, edge: Edge, path: str) -> str:
        verdict, body = self.fetch(edge, path)
        self.say(f"GET https://{PUBLIC_HOST}{path} from the edge: {verdict}  {page(body)}")
        return body

    def deliver_and_wait(
        self, emu: Emulator, edge: Edge, path: str, committed: float, before: int, is_fresh
    ) -> None:
        self.step("The purge delivered")
        purges = wait_for(lambda: emu.purges[before:] or None)
        for purge in purges:
            self.say(
                f"accepted {purge.action} {purge.type} {', '.join(map(str, purge.objects))}: "
                f"purgeId {purge.purge_id}, estimatedSeconds {purge.estimated_seconds}"
            )
        self.step("The same URL, fresh at the edge")
        fresh = edge.wait_until_fresh(f"https://{PUBLIC_HOST}{path}", is_fresh)
        seconds = time.monotonic() - committed
        self.say(
            f"fresh at the edge {seconds:.1f} s after the commit ({fresh.x_cache}, "
            f"{fresh.requests} request(s) to the edge while waiting): {page(fresh.body.decode())}"
        )

    def url_story(self, emu: Emulator, edge: Edge) -> None:
        post = Post.objects.create(slug="on-the-edge", title="First title")
        path = post.get_absolute_url()
        self.step("A page served from the edge")
        self.served(edge, path)
        verdict, _ = self.fetch(edge, path)
        self.say(f"again: {verdict} (origin asked {edge.counters['origin_requests']} time(s))")

        self.step("Change the title and save it (automatic purging by URL)")
        before = len(emu.purges)
        with override_settings(AKAMAI_PURGE_MODELS={"blog.Post": {}}):
            with transaction.atomic():
                post.title = "Second title"
                post.save()
        committed = time.monotonic()
        self.say("saved 'Second title' and committed")
        verdict, body = self.fetch(edge, path)
        self.say(f"right after the commit the edge still serves: {verdict}  {page(body)}")
        self.deliver_and_wait(emu, edge, path, committed, before, lambda b: b"Second" in b)

    def tag_story(self, emu: Emulator, edge: Edge) -> None:
        path = "/posts/"
        self.step("A list page served from the edge, tagged blog.post")
        self.served(edge, path)
        tags = edge.cached(f"https://{PUBLIC_HOST}{path}")
        self.say(f"Edge-Cache-Tag: {', '.join(sorted(tags.tags)) if tags else '(not cached)'}")

        self.step("Add a post (automatic purging by cache tag)")
        before = len(emu.purges)
        with override_settings(AKAMAI_PURGE_MODELS={"blog.Post": {"cache_tags": True}}):
            with transaction.atomic():
                Post.objects.create(slug="tagged", title="A tagged post")
        committed = time.monotonic()
        self.say("created 'A tagged post' and committed")
        verdict, _ = self.fetch(edge, path)
        self.say(f"right after the commit the list at the edge is still the old one: {verdict}")
        self.deliver_and_wait(emu, edge, path, committed, before, lambda b: b"tagged" in b)


def page(body: str) -> str:
    """A page as one short line: the list page by its length and last entry."""
    if body.startswith("<ul>"):
        items = body.count("<li>")
        last = body.rsplit("<li>", 1)[-1].split("</li>", 1)[0] if items else ""
        return f"a list of {items} post(s), the last: {last!r}"
    return body


def wait_for(probe: Callable[[], object], timeout: float = 30.0) -> object:
    """Poll ``probe`` until it returns something truthy (delivery runs in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


class origin_server:  # noqa: N801  (used as a context manager, like a function)
    """This Django site served over HTTP on a free port of 127.0.0.1, in a thread, sharing the
    demo's in-memory database (Django's own live-server thread, as LiveServerTestCase uses)."""

    def __enter__(self) -> str:
        from django.db import connections
        from django.test.testcases import LiveServerThread

        self.connection = connections["default"]
        self.connection.inc_thread_sharing()
        self.thread = LiveServerThread(
            "127.0.0.1", lambda handler: handler, {"default": self.connection}, 0
        )
        self.thread.daemon = True
        self.thread.start()
        self.thread.is_ready.wait()
        if self.thread.error:
            raise self.thread.error
        return f"http://127.0.0.1:{self.thread.port}"

    def __exit__(self, *exc: object) -> None:
        self.thread.terminate()
        self.connection.dec_thread_sharing()
