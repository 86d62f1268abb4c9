"""A site process for the pipeline's fault and concurrency tests (``tests.pipeline_settings``).

    python -m tests.pipeline_site saves N [--start K] [--raising-hook]
    python -m tests.pipeline_site urls URL...
    python -m tests.pipeline_site bulk N
    python -m tests.pipeline_site serve

``saves`` creates N ``Article`` rows, each in its own transaction (automatic purging records
one intent per save); ``--raising-hook`` registers, in each transaction and before the save,
another app's on-commit hook that raises. ``urls`` records the URLs in one transaction with
``purge_request``; ``bulk`` does the same with N generated URLs. Each prints the purged URLs
as JSON on its last line; with ``--then-wait``, ``saves`` stays alive after printing (the
test kills it in its delivery window). ``serve`` is a web process that has served one request
and then idles (it records nothing): its delivery thread's sweep is all that runs; it prints
``serving`` and waits to be killed.
"""

from __future__ import annotations

import argparse
import json


class HookFailed(Exception):
    pass


def _raise() -> None:
    raise HookFailed("another app's on-commit hook failed")


def main() -> None:
    import os

    import django

    django.setup()
    if os.environ.get("AKAMAI_TEST_DELIVERY") == "celery":
        import tests.celery_app  # noqa: F401  (as a project's __init__ loads its Celery app)
    from django.db import transaction

    from django_akamai.signals import purge_request
    from tests.testapp.models import Article

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    saves = sub.add_parser("saves")
    saves.add_argument("count", type=int)
    saves.add_argument("--start", type=int, default=0)
    saves.add_argument("--raising-hook", action="store_true")
    saves.add_argument("--then-wait", action="store_true")
    urls = sub.add_parser("urls")
    urls.add_argument("urls", nargs="+")
    bulk = sub.add_parser("bulk")
    bulk.add_argument("count", type=int)
    sub.add_parser("serve")
    args = parser.parse_args()

    if args.what == "serve":
        import time

        from django.core.signals import request_started

        request_started.send(sender=None)  # what Django's handler sends for each request
        print("serving", flush=True)
        while True:
            time.sleep(3600)

    purged = []
    if args.what in ("urls", "bulk"):
        if args.what == "bulk":
            args.urls = [f"https://www.example.com/bulk/{i}/" for i in range(args.count)]
        with transaction.atomic():
            purge_request.send(args.urls)
        purged = args.urls
    else:
        raised = 0
        for i in range(args.start, args.start + args.count):
            try:
                with transaction.atomic():
                    if args.raising_hook:
                        transaction.on_commit(_raise)
                    article = Article.objects.create(slug=f"a{i}")
            except HookFailed:
                raised += 1
            purged.append("https://www.example.com" + article.get_absolute_url())
        if args.raising_hook:
            assert raised == args.count, raised
    print(json.dumps(purged), flush=True)
    if getattr(args, "then_wait", False):  # stays alive (its delivery window open) until killed
        import time

        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
