"""Each intent belongs to an account; identical pending (and failed) intents are kept once by
plain unique constraints every database honours (MySQL and MariaDB ignore partial ones)."""

from django.db import migrations, models
from django.db.models import F


def fill_keys(apps, schema_editor):
    """Pending intents get their ``pending_key``; failed intents of one object are merged
    into the newest (their attempts added up), which gets its ``failed_key``."""
    intent = apps.get_model("django_akamai", "PurgeIntent")
    table = intent.objects.using(schema_editor.connection.alias)
    table.filter(status="pending").update(pending_key=F("key"))
    newest: dict[str, tuple[int, int]] = {}
    older: list[int] = []
    for pk, key, attempts in (
        table.filter(status="failed").order_by("-id").values_list("id", "key", "attempts")
    ):
        if key in newest:
            keep, total = newest[key]
            newest[key] = (keep, total + attempts)
            older.append(pk)
        else:
            newest[key] = (pk, attempts)
    for start in range(0, len(older), 900):
        table.filter(id__in=older[start : start + 900]).delete()
    for key, (pk, attempts) in newest.items():
        table.filter(id=pk).update(failed_key=key, attempts=attempts)


class Migration(migrations.Migration):
    dependencies = [
        ("django_akamai", "0003_site_switches"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="purgeintent", name="akamai_one_pending_intent"),
        migrations.AddField(
            model_name="purgeintent",
            name="account",
            field=models.CharField(
                blank=True,
                default="",
                help_text="The account it is sent on (API and host of its credentials).",
                max_length=200,
            ),
        ),
        migrations.AddField(
            model_name="purgeintent",
            name="pending_key",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="purgeintent",
            name="failed_key",
            field=models.CharField(blank=True, editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="purgeintent",
            constraint=models.UniqueConstraint(
                fields=("account", "pending_key"), name="akamai_one_pending_per_account"
            ),
        ),
        migrations.AddConstraint(
            model_name="purgeintent",
            constraint=models.UniqueConstraint(
                fields=("account", "failed_key"), name="akamai_one_failed_per_account"
            ),
        ),
    ]
