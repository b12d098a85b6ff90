"""The spatial index of reports' points on SQLite: an R*Tree table kept by triggers.

Migration 0002 created it (and a GiST index on PostgreSQL, which needs no upkeep). Django's
SQLite schema editor rebuilds reports_report for many ALTERs, and a rebuild drops the table's
triggers: ``repair_spatial_index`` (run after every migrate, reports.map.receivers) puts them back.
The migration keeps its own copy of this SQL, as migrations do.
"""

from __future__ import annotations

from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

RTREE = "reports_report_rtree"
TRIGGERS = ("reports_report_rtree_ins", "reports_report_rtree_upd", "reports_report_rtree_del")

# Plain text, not built: the table and trigger names are the constants above.
_SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER IF NOT EXISTS reports_report_rtree_ins AFTER INSERT ON reports_report BEGIN
        INSERT INTO reports_report_rtree (id, min_lon, max_lon, min_lat, max_lat)
        VALUES (new.id, new.longitude, new.longitude, new.latitude, new.latitude);
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS reports_report_rtree_upd
    AFTER UPDATE OF id, latitude, longitude ON reports_report BEGIN
        DELETE FROM reports_report_rtree WHERE id = old.id;
        INSERT INTO reports_report_rtree (id, min_lon, max_lon, min_lat, max_lat)
        VALUES (new.id, new.longitude, new.longitude, new.latitude, new.latitude);
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS reports_report_rtree_del AFTER DELETE ON reports_report BEGIN
        DELETE FROM reports_report_rtree WHERE id = old.id;
    END
    """,
)
_REFILL = (
    "DELETE FROM reports_report_rtree",
    "INSERT INTO reports_report_rtree (id, min_lon, max_lon, min_lat, max_lat) "
    "SELECT id, longitude, longitude, latitude, latitude FROM reports_report",
)


def create_sqlite_triggers(cursor: Any) -> None:
    """(Re)create the sync triggers and refill the R*Tree from reports_report.

    Refilling makes this safe to run whenever a trigger may have been missing for a while.
    """
    for sql in (*_SQLITE_TRIGGERS, *_REFILL):
        cursor.execute(sql)


def repair_spatial_index(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Re-create the SQLite R*Tree's triggers if a table rebuild dropped them (Django's SQLite
    schema editor rebuilds reports_report for many ALTERs). Returns whether it had to."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        present = {row[0] for row in cursor.fetchall()}
        if RTREE not in present or present.issuperset(TRIGGERS):
            return False
        create_sqlite_triggers(cursor)
    return True
