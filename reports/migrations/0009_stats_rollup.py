"""The daily statistics rollup (reports.StatsDay), kept by PostgreSQL triggers.

On PostgreSQL the triggers and functions are installed and the rollup is built from the reports
already there (reports.staff.stats has the SQL, so a change of TIME_ZONE can reinstall it). SQLite
gets the empty table only: its statistics count the reports themselves.
Indexes on the milestone times serve the statistics' per-period reads on both databases.
"""

import django.db.models.deletion
from django.db import migrations, models

# The statistics read reports by milestone time. On PostgreSQL the indexes cover the columns those
# reads need, so they are index-only scans (no visit to the table's pages).
INDEXES = {
    "report_stats_confirmed": ("confirmed_at", "authority_id, state, latitude, longitude"),
    "report_stats_verified": ("verified_at", "confirmed_at, authority_id, category_id, state"),
    "report_stats_fixed": ("fixed_at", "confirmed_at, authority_id, category_id, state"),
}


def add_indexes(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for name, (column, covered) in INDEXES.items():
        include = f" INCLUDE ({covered})" if postgres else ""
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON reports_report ({column}){include}"
        )


def drop_indexes(apps, schema_editor):
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from reports.staff.stats import stats_rollup_install

        stats_rollup_install(using=schema_editor.connection.alias)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from reports.staff.stats import stats_rollup_uninstall

        stats_rollup_uninstall(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0008_audit_response_templates"),
    ]

    operations = [
        migrations.CreateModel(
            name="StatsDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("received", "Received"),
                            ("verified", "Verified"),
                            ("fixed", "Fixed"),
                            ("closed", "Closed"),
                            ("resolved", "Fixed or closed"),
                            ("supports", "“Me too”s"),
                        ],
                        max_length=10,
                    ),
                ),
                ("n", models.IntegerField(default=0)),
                (
                    "authority",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="authorities.authority",
                    ),
                ),
                (
                    "category",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="authorities.category",
                    ),
                ),
            ],
            options={
                "verbose_name": "statistics day",
                "verbose_name_plural": "statistics days",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("day", "authority", "category", "kind"), name="statsday_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(add_indexes, drop_indexes),
        migrations.RunPython(install, uninstall),
    ]
