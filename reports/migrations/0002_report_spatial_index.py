"""A spatial index on where reports are, for the map's viewport queries (reports.mapdata).

PostgreSQL: a GiST index on the expression point(longitude, latitude), used by
`point(longitude, latitude) <@ box(...)` (built in, no PostGIS).

SQLite: an R*Tree virtual table reports_report_rtree(id, min_lon, max_lon, min_lat, max_lat)
holding each report's point, kept in sync by triggers on reports_report and filled from the rows
already there. SQLite drops a table's triggers with the table, and Django's SQLite schema editor
rebuilds a table (copy, drop, rename) for many ALTERs, so reports.mapdata re-creates missing
triggers after every migrate (a post_migrate receiver) by calling create_sqlite_triggers() below.

No model changes: `makemigrations --check` stays clean.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

GIST_INDEX = "report_point_gist"
RTREE = "reports_report_rtree"
TRIGGERS = ("reports_report_rtree_ins", "reports_report_rtree_upd", "reports_report_rtree_del")

_SQLITE_TRIGGERS = (
    f"""
    CREATE TRIGGER IF NOT EXISTS {TRIGGERS[0]} AFTER INSERT ON reports_report BEGIN
        INSERT INTO {RTREE} (id, min_lon, max_lon, min_lat, max_lat)
        VALUES (new.id, new.longitude, new.longitude, new.latitude, new.latitude);
    END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS {TRIGGERS[1]}
    AFTER UPDATE OF id, latitude, longitude ON reports_report BEGIN
        DELETE FROM {RTREE} WHERE id = old.id;
        INSERT INTO {RTREE} (id, min_lon, max_lon, min_lat, max_lat)
        VALUES (new.id, new.longitude, new.longitude, new.latitude, new.latitude);
    END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS {TRIGGERS[2]} AFTER DELETE ON reports_report BEGIN
        DELETE FROM {RTREE} WHERE id = old.id;
    END
    """,
)


def create_sqlite_triggers(cursor: Any) -> None:
    """(Re)create the sync triggers and refill the R*Tree from reports_report.

    Refilling makes this safe to run whenever a trigger may have been missing for a while.
    """
    for sql in _SQLITE_TRIGGERS:
        cursor.execute(sql)
    cursor.execute(f"DELETE FROM {RTREE}")
    cursor.execute(
        f"INSERT INTO {RTREE} (id, min_lon, max_lon, min_lat, max_lat) "
        "SELECT id, longitude, longitude, latitude, latitude FROM reports_report"
    )


def forwards(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {GIST_INDEX} ON reports_report "
            "USING gist (point(longitude, latitude))"
        )
    elif vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {RTREE} "
                "USING rtree(id, min_lon, max_lon, min_lat, max_lat)"
            )
            create_sqlite_triggers(cursor)
    # Other databases keep the B-tree on (latitude, longitude) from 0001.


def backwards(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {GIST_INDEX}")
    elif vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            for trigger in TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
            cursor.execute(f"DROP TABLE IF EXISTS {RTREE}")


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
