"""The map's rollup (reports.MapCell): public reports counted per grid cell, kept by PostgreSQL
statement-level triggers, and built here from the reports already there.

The SQL is this migration's own, as it was written (reports.map.rollup keeps the current version
and the reasons: the state groups, the key order of the upsert, the exact cell arithmetic).
SQLite gets the empty table only: its map groups the reports themselves.
"""

import django.db.models.deletion
from django.db import migrations, models, transaction

# The states of reports.models.HIDDEN_STATES and reports.map.query.STATE_GROUPS when this was
# written are in fixpoint_map_group.
FUNCTIONS = """
CREATE OR REPLACE FUNCTION fixpoint_map_group(p_state text, p_private boolean) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (CASE WHEN p_private OR p_state IN ('spam', 'unconfirmed') THEN NULL
               WHEN p_state IN ('in_progress', 'open', 'verified') THEN 1 WHEN p_state IN ('closed', 'fixed') THEN 2
               ELSE 3 END)::smallint
$$;

CREATE OR REPLACE FUNCTION fixpoint_map_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE zs smallint[]; xs integer[]; ys integer[]; cs bigint[]; gs smallint[];
BEGIN

  WITH cells AS (
    SELECT z AS zoom, fine.x >> (18 - z) AS x, fine.y >> (18 - z) AS y,
           fine.category_id, fine.state_group, sum(fine.n)::integer AS n,
           sum(fine.n * fine.latitude) AS latitude_sum,
           sum(fine.n * fine.longitude) AS longitude_sum, sum(fine.n * fine.id)::bigint AS id_sum
    FROM (
      SELECT floor((d.longitude + 180.0::float8) / (90.0::float8 / (1 << 18)))::integer AS x,
             floor((d.latitude + 90.0::float8) / (90.0::float8 / (1 << 18)))::integer AS y,
             d.category_id, d.state_group, d.n, d.latitude, d.longitude, d.id
      FROM (
SELECT r.latitude, r.longitude, r.category_id, fixpoint_map_group(r.state, r.is_private), 1, r.id
FROM new_rows r WHERE fixpoint_map_group(r.state, r.is_private) IS NOT NULL
) AS d(latitude, longitude, category_id, state_group, n, id)
    ) AS fine CROSS JOIN generate_series(0, 18) AS z
    GROUP BY 1, 2, 3, 4, 5
  ), applied AS (
    INSERT INTO reports_mapcell AS m
      (zoom, x, y, category_id, state_group, n, latitude_sum, longitude_sum, id_sum)
    SELECT * FROM cells WHERE n <> 0 OR latitude_sum <> 0 OR longitude_sum <> 0
    ORDER BY zoom, x, y, category_id, state_group
    ON CONFLICT (zoom, x, y, category_id, state_group) DO UPDATE
    SET n = m.n + EXCLUDED.n, latitude_sum = m.latitude_sum + EXCLUDED.latitude_sum,
        longitude_sum = m.longitude_sum + EXCLUDED.longitude_sum,
        id_sum = m.id_sum + EXCLUDED.id_sum
    RETURNING m.zoom, m.x, m.y, m.category_id, m.state_group, m.n
  )
  SELECT array_agg(zoom), array_agg(x), array_agg(y), array_agg(category_id),
         array_agg(state_group)
  INTO zs, xs, ys, cs, gs FROM applied WHERE n = 0;
  IF zs IS NOT NULL THEN
    DELETE FROM reports_mapcell m
    USING unnest(zs, xs, ys, cs, gs) AS e(zoom, x, y, category_id, state_group)
    WHERE m.zoom = e.zoom AND m.x = e.x AND m.y = e.y AND m.category_id = e.category_id
      AND m.state_group = e.state_group AND m.n = 0;
  END IF;
  RETURN NULL;

END $$;

CREATE OR REPLACE FUNCTION fixpoint_map_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE zs smallint[]; xs integer[]; ys integer[]; cs bigint[]; gs smallint[];
BEGIN

  WITH cells AS (
    SELECT z AS zoom, fine.x >> (18 - z) AS x, fine.y >> (18 - z) AS y,
           fine.category_id, fine.state_group, sum(fine.n)::integer AS n,
           sum(fine.n * fine.latitude) AS latitude_sum,
           sum(fine.n * fine.longitude) AS longitude_sum, sum(fine.n * fine.id)::bigint AS id_sum
    FROM (
      SELECT floor((d.longitude + 180.0::float8) / (90.0::float8 / (1 << 18)))::integer AS x,
             floor((d.latitude + 90.0::float8) / (90.0::float8 / (1 << 18)))::integer AS y,
             d.category_id, d.state_group, d.n, d.latitude, d.longitude, d.id
      FROM (
SELECT c.latitude, c.longitude, c.category_id, c.state_group, c.n, c.id
FROM old_rows o JOIN new_rows r ON r.id = o.id
CROSS JOIN LATERAL (VALUES
  (o.latitude, o.longitude, o.category_id, fixpoint_map_group(o.state, o.is_private), -1, o.id),
  (r.latitude, r.longitude, r.category_id, fixpoint_map_group(r.state, r.is_private), 1, r.id)
) AS c(latitude, longitude, category_id, state_group, n, id)
WHERE c.state_group IS NOT NULL
  AND (o.latitude, o.longitude, o.category_id, fixpoint_map_group(o.state, o.is_private))
      IS DISTINCT FROM
      (r.latitude, r.longitude, r.category_id, fixpoint_map_group(r.state, r.is_private))
) AS d(latitude, longitude, category_id, state_group, n, id)
    ) AS fine CROSS JOIN generate_series(0, 18) AS z
    GROUP BY 1, 2, 3, 4, 5
  ), applied AS (
    INSERT INTO reports_mapcell AS m
      (zoom, x, y, category_id, state_group, n, latitude_sum, longitude_sum, id_sum)
    SELECT * FROM cells WHERE n <> 0 OR latitude_sum <> 0 OR longitude_sum <> 0
    ORDER BY zoom, x, y, category_id, state_group
    ON CONFLICT (zoom, x, y, category_id, state_group) DO UPDATE
    SET n = m.n + EXCLUDED.n, latitude_sum = m.latitude_sum + EXCLUDED.latitude_sum,
        longitude_sum = m.longitude_sum + EXCLUDED.longitude_sum,
        id_sum = m.id_sum + EXCLUDED.id_sum
    RETURNING m.zoom, m.x, m.y, m.category_id, m.state_group, m.n
  )
  SELECT array_agg(zoom), array_agg(x), array_agg(y), array_agg(category_id),
         array_agg(state_group)
  INTO zs, xs, ys, cs, gs FROM applied WHERE n = 0;
  IF zs IS NOT NULL THEN
    DELETE FROM reports_mapcell m
    USING unnest(zs, xs, ys, cs, gs) AS e(zoom, x, y, category_id, state_group)
    WHERE m.zoom = e.zoom AND m.x = e.x AND m.y = e.y AND m.category_id = e.category_id
      AND m.state_group = e.state_group AND m.n = 0;
  END IF;
  RETURN NULL;

END $$;

CREATE OR REPLACE FUNCTION fixpoint_map_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE zs smallint[]; xs integer[]; ys integer[]; cs bigint[]; gs smallint[];
BEGIN

  WITH cells AS (
    SELECT z AS zoom, fine.x >> (18 - z) AS x, fine.y >> (18 - z) AS y,
           fine.category_id, fine.state_group, sum(fine.n)::integer AS n,
           sum(fine.n * fine.latitude) AS latitude_sum,
           sum(fine.n * fine.longitude) AS longitude_sum, sum(fine.n * fine.id)::bigint AS id_sum
    FROM (
      SELECT floor((d.longitude + 180.0::float8) / (90.0::float8 / (1 << 18)))::integer AS x,
             floor((d.latitude + 90.0::float8) / (90.0::float8 / (1 << 18)))::integer AS y,
             d.category_id, d.state_group, d.n, d.latitude, d.longitude, d.id
      FROM (
SELECT r.latitude, r.longitude, r.category_id, fixpoint_map_group(r.state, r.is_private), -1, r.id
FROM old_rows r WHERE fixpoint_map_group(r.state, r.is_private) IS NOT NULL
) AS d(latitude, longitude, category_id, state_group, n, id)
    ) AS fine CROSS JOIN generate_series(0, 18) AS z
    GROUP BY 1, 2, 3, 4, 5
  ), applied AS (
    INSERT INTO reports_mapcell AS m
      (zoom, x, y, category_id, state_group, n, latitude_sum, longitude_sum, id_sum)
    SELECT * FROM cells WHERE n <> 0 OR latitude_sum <> 0 OR longitude_sum <> 0
    ORDER BY zoom, x, y, category_id, state_group
    ON CONFLICT (zoom, x, y, category_id, state_group) DO UPDATE
    SET n = m.n + EXCLUDED.n, latitude_sum = m.latitude_sum + EXCLUDED.latitude_sum,
        longitude_sum = m.longitude_sum + EXCLUDED.longitude_sum,
        id_sum = m.id_sum + EXCLUDED.id_sum
    RETURNING m.zoom, m.x, m.y, m.category_id, m.state_group, m.n
  )
  SELECT array_agg(zoom), array_agg(x), array_agg(y), array_agg(category_id),
         array_agg(state_group)
  INTO zs, xs, ys, cs, gs FROM applied WHERE n = 0;
  IF zs IS NOT NULL THEN
    DELETE FROM reports_mapcell m
    USING unnest(zs, xs, ys, cs, gs) AS e(zoom, x, y, category_id, state_group)
    WHERE m.zoom = e.zoom AND m.x = e.x AND m.y = e.y AND m.category_id = e.category_id
      AND m.state_group = e.state_group AND m.n = 0;
  END IF;
  RETURN NULL;

END $$;

DROP TRIGGER IF EXISTS fixpoint_map_insert ON reports_report;
CREATE TRIGGER fixpoint_map_insert AFTER INSERT ON reports_report
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION fixpoint_map_inserted();
DROP TRIGGER IF EXISTS fixpoint_map_update ON reports_report;
CREATE TRIGGER fixpoint_map_update AFTER UPDATE ON reports_report
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION fixpoint_map_updated();
DROP TRIGGER IF EXISTS fixpoint_map_delete ON reports_report;
CREATE TRIGGER fixpoint_map_delete AFTER DELETE ON reports_report
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION fixpoint_map_deleted();
"""

DROP = """
DROP TRIGGER IF EXISTS fixpoint_map_insert ON reports_report;
DROP TRIGGER IF EXISTS fixpoint_map_update ON reports_report;
DROP TRIGGER IF EXISTS fixpoint_map_delete ON reports_report;
DROP FUNCTION IF EXISTS fixpoint_map_inserted();
DROP FUNCTION IF EXISTS fixpoint_map_updated();
DROP FUNCTION IF EXISTS fixpoint_map_deleted();
DROP FUNCTION IF EXISTS fixpoint_map_group(text, boolean);
"""

REBUILD = """
INSERT INTO reports_mapcell
  (zoom, x, y, category_id, state_group, n, latitude_sum, longitude_sum, id_sum)
SELECT z, fine.x >> (18 - z), fine.y >> (18 - z), fine.category_id,
       fine.state_group, sum(fine.n), sum(fine.latitude_sum), sum(fine.longitude_sum),
       sum(fine.id_sum)::bigint
FROM (
  SELECT floor((longitude + 180.0::float8) / (90.0::float8 / (1 << 18)))::integer AS x,
         floor((latitude + 90.0::float8) / (90.0::float8 / (1 << 18)))::integer AS y,
         category_id, fixpoint_map_group(state, is_private) AS state_group, count(*) AS n,
         sum(latitude) AS latitude_sum, sum(longitude) AS longitude_sum, sum(id) AS id_sum
  FROM reports_report WHERE fixpoint_map_group(state, is_private) IS NOT NULL
  GROUP BY 1, 2, 3, 4
) AS fine CROSS JOIN generate_series(0, 18) AS z
GROUP BY 1, 2, 3, 4, 5
ORDER BY 1, 2, 3, 4, 5
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    connection = schema_editor.connection
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        # Room on each page for the next version of a row: a count's update stays on its page
        # (a HOT update), without a new entry in the primary key's index.
        cursor.execute("ALTER TABLE reports_mapcell SET (fillfactor = 80)")
        cursor.execute(FUNCTIONS)
        cursor.execute("LOCK TABLE reports_mapcell IN EXCLUSIVE MODE")
        cursor.execute("DELETE FROM reports_mapcell")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(REBUILD)
        cursor.execute("ANALYZE reports_mapcell")


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("authorities", "0014_verbose_names"),
        ("reports", "0026_report_public_created"),
    ]

    operations = [
        migrations.CreateModel(
            name="MapCell",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "zoom", "x", "y", "category", "state_group",
                        blank=True, editable=False, primary_key=True, serialize=False,
                    ),
                ),
                ("zoom", models.SmallIntegerField()),
                ("x", models.IntegerField()),
                ("y", models.IntegerField()),
                ("state_group", models.SmallIntegerField()),
                ("n", models.IntegerField()),
                ("latitude_sum", models.FloatField()),
                ("longitude_sum", models.FloatField()),
                ("id_sum", models.BigIntegerField()),
                (
                    "category",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="authorities.category",
                    ),
                ),
            ],
        ),
        migrations.RunPython(install, uninstall),
    ]
