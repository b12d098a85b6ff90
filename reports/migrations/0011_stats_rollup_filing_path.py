"""The statistics rollup's trigger counts a filing with one upsert (reports.staff.stats): the
functions are replaced, the counts stay as they are."""

from django.db import migrations


def reinstall_functions(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from reports.staff.stats import stats_rollup_functions_install

        stats_rollup_functions_install(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0010_report_follow_up"),
    ]

    operations = [
        # Reversing keeps the new functions: they count exactly what the old ones did.
        migrations.RunPython(reinstall_functions, migrations.RunPython.noop),
    ]
