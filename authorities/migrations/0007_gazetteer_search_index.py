"""Text indexes for the gazetteer's search (authorities.geocoding.local).

PostgreSQL: the pg_trgm extension (trusted since PostgreSQL 13: the database's owner may create
it) and a GiST trigram index on the normalised search text of streets and places, read in order
of word distance (`ORDER BY %s <<-> search_text LIMIT n`: a typo or a half-typed word still
comes near). A GIN index with the `<%` threshold operator was measured first: at 25,000 streets a
common word let a thousand rows through to the recheck, 15-40 ms; the GiST index's nearest-first
scan stops after n rows (5-10 ms). A signature of 128 bytes (the default is 12) keeps the scan
from visiting most of the tree for names of a few words.

SQLite: an FTS5 table per searched table, with external content (the text is stored once, in the
table), the `unicode61 remove_diacritics 2` tokenizer and prefix indexes for 2 and 3 letters, kept
in sync by triggers; and an fts5vocab table per FTS5 table listing its words, from which search
picks the words a misspelt one may have meant. SQLite drops a table's triggers with the table,
and Django's SQLite schema editor rebuilds a table for many ALTERs, so
authorities.geocoding.local re-creates them (and rebuilds the FTS5 tables) after every migrate.

No model changes: `makemigrations --check` stays clean.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

SEARCHED = ("authorities_street", "authorities_place")


def _sqlite_triggers(table: str) -> list[str]:
    fts = f"{table}_fts"
    insert = f"INSERT INTO {fts} (rowid, search_text) VALUES (new.id, new.search_text);"
    delete = (
        f"INSERT INTO {fts} ({fts}, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text);"
    )
    return [
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ins AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_del AFTER DELETE ON {table} BEGIN {delete} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_upd AFTER UPDATE OF id, search_text ON {table} "
        f"BEGIN {delete} {insert} END",
    ]


def create_sqlite_search(cursor: Any) -> None:
    """(Re)create the FTS5 tables' triggers and rebuild them from their tables: safe whenever a
    trigger may have been missing for a while."""
    for table in SEARCHED:
        fts = f"{table}_fts"
        cursor.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(search_text, "
            f"content='{table}', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 2', prefix='2 3')"
        )
        cursor.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {table}_vocab USING fts5vocab({fts}, 'row')")
        for sql in _sqlite_triggers(table):
            cursor.execute(sql)
        cursor.execute(f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')")


def forwards(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for table in SEARCHED:
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {table}_trgm ON {table} "
                "USING gist (search_text gist_trgm_ops(siglen=128))"
            )
    elif vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            create_sqlite_search(cursor)


def backwards(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    for table in SEARCHED:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX IF EXISTS {table}_trgm")
        elif vendor == "sqlite":
            for suffix in ("ins", "del", "upd"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{suffix}")
            schema_editor.execute(f"DROP TABLE IF EXISTS {table}_vocab")
            schema_editor.execute(f"DROP TABLE IF EXISTS {table}_fts")


class Migration(migrations.Migration):
    dependencies = [("authorities", "0006_gazetteer")]

    # The extension is created in forwards() rather than by TrigramExtension: that operation's
    # backwards asks pg_extension on every database, so migrating back failed on SQLite. Going
    # back leaves the extension in place (something else may use it; it costs nothing).
    operations = [migrations.RunPython(forwards, backwards)]
