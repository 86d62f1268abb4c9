"""The intent table's two unique constraints indexed only where their key is set, on
PostgreSQL and SQLite (``models.UniqueWhereSet``): a pending intent's INSERT no longer writes
an entry of NULL into the failed intents' index, nor a claim one into the pending intents'.
On MySQL and MariaDB the index stays as it is (dropping and re-creating the same one would
leave a moment without it, as their DDL is not transactional)."""

from typing import Any

from django.db import migrations

import django_akamai.models


def _changes_the_index(schema_editor: Any) -> bool:
    return bool(schema_editor.connection.features.supports_partial_indexes)


class _OnPartialIndexesOnly:
    """The operation's schema change, only where the database indexes part of a table."""

    def database_forwards(self, app_label: str, schema_editor: Any, *states: Any) -> None:
        if _changes_the_index(schema_editor):
            super().database_forwards(app_label, schema_editor, *states)  # type: ignore[misc]

    def database_backwards(self, app_label: str, schema_editor: Any, *states: Any) -> None:
        if _changes_the_index(schema_editor):
            super().database_backwards(app_label, schema_editor, *states)  # type: ignore[misc]


class RemoveWherePartial(_OnPartialIndexesOnly, migrations.RemoveConstraint):
    pass


class AddWherePartial(_OnPartialIndexesOnly, migrations.AddConstraint):
    pass


class Migration(migrations.Migration):
    dependencies = [
        ("django_akamai", "0007_history_wording"),
    ]

    operations = [
        operation
        for fields, name in [
            (("account", "pending_key"), "akamai_one_pending_per_account"),
            (("account", "failed_key"), "akamai_one_failed_per_account"),
        ]
        for operation in [
            RemoveWherePartial(model_name="purgeintent", name=name),
            AddWherePartial(
                model_name="purgeintent",
                constraint=django_akamai.models.UniqueWhereSet(fields=fields, name=name),
            ),
        ]
    ]
