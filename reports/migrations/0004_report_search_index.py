"""Full-text search over report titles and descriptions (reports.selectors.search_reports).

PostgreSQL only: a GIN index on exactly the expression Django's SearchVector("title",
"description", config="simple") produces, so the planner uses it. SQLite searches with LIKE.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

EXPRESSION = (
    "to_tsvector('simple'::regconfig, COALESCE(title, '') || ' ' || COALESCE(description, ''))"
)


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS report_text_search ON reports_report USING gin ({EXPRESSION})"
        )


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS report_text_search")


class Migration(migrations.Migration):
    dependencies = [("reports", "0003_engagement")]

    operations = [migrations.RunPython(create, drop)]
