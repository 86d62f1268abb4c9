"""The purge history names the account each request was sent on (AKAMAI_ACCOUNTS)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("django_akamai", "0005_verification")]

    operations = [
        migrations.AddField(
            model_name="purgerecord",
            name="account",
            field=models.CharField(
                blank=True,
                default="",
                help_text=(
                    "The account of AKAMAI_ACCOUNTS it was sent on; blank: the default account."
                ),
                max_length=64,
            ),
        ),
    ]
