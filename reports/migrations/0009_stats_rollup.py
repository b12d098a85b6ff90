"""The daily statistics rollup (reports.StatsDay), kept by PostgreSQL triggers.

On PostgreSQL the triggers and functions are installed and the rollup is built from the reports
already there. The SQL is this migration's own, as it was written (reports.staff.stats keeps
the current version, so that a change of TIME_ZONE can reinstall it; migration 0011 replaced
the functions). SQLite
gets the empty table only: its statistics count the reports themselves.
Indexes on the milestone times serve the statistics' per-period reads on both databases.
"""

import re

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models, transaction

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


# The states a report is not counted in (reports.models.HIDDEN_STATES when this was written).
HIDDEN = "'spam', 'unconfirmed'"
COUNTED = (
    "SELECT id, authority_id, category_id, confirmed_at, verified_at, fixed_at, closed_at"
    f" FROM reports_report WHERE confirmed_at IS NOT NULL AND state NOT IN ({HIDDEN})"
)


def quoted_zone():
    """settings.TIME_ZONE as an SQL literal: a report counts for its local day."""
    zone = str(settings.TIME_ZONE)
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", zone):
        raise ValueError(f"Unexpected TIME_ZONE {zone!r}")
    return f"'{zone}'"


FUNCTIONS = """
CREATE OR REPLACE FUNCTION fixpoint_stats_bump(p_day date, p_authority bigint, p_category bigint,
                                               p_kind text, p_n integer) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO reports_statsday (day, authority_id, category_id, kind, n)
  VALUES (p_day, p_authority, p_category, p_kind, p_n)
  ON CONFLICT (day, authority_id, category_id, kind)
  DO UPDATE SET n = reports_statsday.n + EXCLUDED.n
$$;

CREATE OR REPLACE FUNCTION fixpoint_stats_report(r reports_report, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF r.state IN (%(hidden)s) OR r.confirmed_at IS NULL THEN RETURN; END IF;
  PERFORM fixpoint_stats_bump((r.confirmed_at AT TIME ZONE %(tz)s)::date, r.authority_id,
                              r.category_id, 'received', sign);
  IF r.verified_at IS NOT NULL THEN
    PERFORM fixpoint_stats_bump((r.verified_at AT TIME ZONE %(tz)s)::date, r.authority_id,
                                r.category_id, 'verified', sign);
  END IF;
  IF r.fixed_at IS NOT NULL THEN
    PERFORM fixpoint_stats_bump((r.fixed_at AT TIME ZONE %(tz)s)::date, r.authority_id,
                                r.category_id, 'fixed', sign);
  END IF;
  IF r.closed_at IS NOT NULL THEN
    PERFORM fixpoint_stats_bump((r.closed_at AT TIME ZONE %(tz)s)::date, r.authority_id,
                                r.category_id, 'closed', sign);
  END IF;
  IF COALESCE(r.fixed_at, r.closed_at) IS NOT NULL THEN
    PERFORM fixpoint_stats_bump((COALESCE(r.fixed_at, r.closed_at) AT TIME ZONE %(tz)s)::date,
                                r.authority_id, r.category_id, 'resolved', sign);
  END IF;
  -- The report's "me too"s count under its authority and category: they move with it.
  INSERT INTO reports_statsday (day, authority_id, category_id, kind, n)
  SELECT (s.created_at AT TIME ZONE %(tz)s)::date, r.authority_id, r.category_id, 'supports',
         sign * count(*)::integer
  FROM reports_support s WHERE s.report_id = r.id GROUP BY 1
  ON CONFLICT (day, authority_id, category_id, kind)
  DO UPDATE SET n = reports_statsday.n + EXCLUDED.n;
END $$;

CREATE OR REPLACE FUNCTION fixpoint_stats_support(s reports_support, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE r reports_report;
BEGIN
  SELECT * INTO r FROM reports_report WHERE id = s.report_id;
  IF NOT FOUND OR r.state IN (%(hidden)s) OR r.confirmed_at IS NULL THEN RETURN; END IF;
  PERFORM fixpoint_stats_bump((s.created_at AT TIME ZONE %(tz)s)::date, r.authority_id,
                              r.category_id, 'supports', sign);
END $$;

CREATE OR REPLACE FUNCTION fixpoint_stats_report_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM fixpoint_stats_report(OLD, -1); END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN PERFORM fixpoint_stats_report(NEW, 1); END IF;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION fixpoint_stats_support_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM fixpoint_stats_support(OLD, -1); END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN PERFORM fixpoint_stats_support(NEW, 1); END IF;
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS fixpoint_stats_report_rows ON reports_report;
CREATE TRIGGER fixpoint_stats_report_rows AFTER INSERT OR DELETE ON reports_report
  FOR EACH ROW EXECUTE FUNCTION fixpoint_stats_report_changed();
DROP TRIGGER IF EXISTS fixpoint_stats_report_update ON reports_report;
CREATE TRIGGER fixpoint_stats_report_update AFTER UPDATE ON reports_report FOR EACH ROW
  WHEN ((OLD.state, OLD.authority_id, OLD.category_id, OLD.confirmed_at, OLD.verified_at,
         OLD.fixed_at, OLD.closed_at) IS DISTINCT FROM
        (NEW.state, NEW.authority_id, NEW.category_id, NEW.confirmed_at, NEW.verified_at,
         NEW.fixed_at, NEW.closed_at))
  EXECUTE FUNCTION fixpoint_stats_report_changed();
DROP TRIGGER IF EXISTS fixpoint_stats_support_rows ON reports_support;
CREATE TRIGGER fixpoint_stats_support_rows AFTER INSERT OR UPDATE OR DELETE ON reports_support
  FOR EACH ROW EXECUTE FUNCTION fixpoint_stats_support_changed();
"""

DROP = """
DROP TRIGGER IF EXISTS fixpoint_stats_report_rows ON reports_report;
DROP TRIGGER IF EXISTS fixpoint_stats_report_update ON reports_report;
DROP TRIGGER IF EXISTS fixpoint_stats_support_rows ON reports_support;
DROP FUNCTION IF EXISTS fixpoint_stats_report_changed();
DROP FUNCTION IF EXISTS fixpoint_stats_support_changed();
DROP FUNCTION IF EXISTS fixpoint_stats_report(reports_report, integer);
DROP FUNCTION IF EXISTS fixpoint_stats_support(reports_support, integer);
DROP FUNCTION IF EXISTS fixpoint_stats_bump(date, bigint, bigint, text, integer);
"""

REBUILD = """
INSERT INTO reports_statsday (day, authority_id, category_id, kind, n)
SELECT (moment AT TIME ZONE %(tz)s)::date, authority_id, category_id, kind, count(*)
FROM (
  SELECT confirmed_at AS moment, authority_id, category_id, 'received' AS kind FROM counted
  UNION ALL SELECT verified_at, authority_id, category_id, 'verified' FROM counted
    WHERE verified_at IS NOT NULL
  UNION ALL SELECT fixed_at, authority_id, category_id, 'fixed' FROM counted
    WHERE fixed_at IS NOT NULL
  UNION ALL SELECT closed_at, authority_id, category_id, 'closed' FROM counted
    WHERE closed_at IS NOT NULL
  UNION ALL SELECT COALESCE(fixed_at, closed_at), authority_id, category_id, 'resolved'
    FROM counted WHERE COALESCE(fixed_at, closed_at) IS NOT NULL
  UNION ALL SELECT s.created_at, c.authority_id, c.category_id, 'supports'
    FROM reports_support s JOIN counted c ON c.id = s.report_id
) AS events
GROUP BY 1, 2, 3, 4
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    zone = quoted_zone()
    connection = schema_editor.connection
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(FUNCTIONS % {"tz": zone, "hidden": HIDDEN})
        cursor.execute("LOCK TABLE reports_statsday IN EXCLUSIVE MODE")
        cursor.execute("DELETE FROM reports_statsday")
        cursor.execute(f"WITH counted AS ({COUNTED}) {REBUILD % {'tz': zone}}")


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


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
