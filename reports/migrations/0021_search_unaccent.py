"""Accent-free report search on PostgreSQL (reports.search).

Creates the `unaccent` extension and the `fixpoint_search` text-search configuration (the
`simple` parser and dictionary with `unaccent` first, so "Gràcia" is indexed as "gracia"), and
moves the GIN index of migration 0004 to that configuration: the index is on exactly the
expression Django's SearchVector("title", "description", config="fixpoint_search") writes.
Nothing on SQLite, which folds with a function registered on each connection instead.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

TEXT = "COALESCE(title, '') || ' ' || COALESCE(description, '')"
CREATE = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS fixpoint_search",
    "CREATE TEXT SEARCH CONFIGURATION fixpoint_search (COPY = simple)",
    "ALTER TEXT SEARCH CONFIGURATION fixpoint_search"
    " ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple",
    "DROP INDEX IF EXISTS report_text_search",
    "CREATE INDEX report_text_search ON reports_report"
    f" USING gin (to_tsvector('fixpoint_search'::regconfig, {TEXT}))",
]
# Back to migration 0004's index; the extension stays (another database object may use it).
DROP = [
    "DROP INDEX IF EXISTS report_text_search",
    "CREATE INDEX report_text_search ON reports_report"
    f" USING gin (to_tsvector('simple'::regconfig, {TEXT}))",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS fixpoint_search",
]


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("reports", "0020_translations")]

    operations = [migrations.RunPython(create, drop)]
