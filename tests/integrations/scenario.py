"""Steps the db_worker tests run in a site process: ``python -m tests.integrations.scenario``.

``setup`` creates the tables (without migrations) and the two-site page tree of
``conftest.site_tree``; ``publish SLUG`` publishes that page, as an editor's click does
(Wagtail enqueues its purge task); ``purge URL...`` purges URLs in a transaction and waits
for the kick after the commit. One process per step: each starts Django and Wagtail.
"""

import sys


def main(argv: list[str]) -> None:
    import django

    django.setup()
    step, *args = argv
    if step == "setup":
        from django.core.management import call_command

        from tests.integrations.pagetree import build_site_tree

        call_command("migrate", run_syncdb=True, verbosity=0)
        build_site_tree()
    elif step == "purge":
        from django.db import transaction

        from django_akamai import delivery
        from django_akamai.funnel import request_purge

        with transaction.atomic():
            request_purge(args, options={"action": "invalidate"})
        delivery.wait_idle(30)  # the kick after the commit (a queued task, or a delivery)
    elif step == "publish":
        from wagtail.models import Page

        Page.objects.get(slug=args[0]).specific.save_revision().publish()
    else:
        raise SystemExit(f"unknown step {step!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
