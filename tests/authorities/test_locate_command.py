from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command


def test_locate_prints_covering_authorities_and_category_table(barcelona):
    out = StringIO()

    call_command("locate", "41.4036", "2.1744", stdout=out)

    text = out.getvalue()
    assert text.index("eixample") < text.index("barcelona")
    assert "pavement" in text and "-> eixample" in text
    assert "waste-collection" in text and "-> barcelona" in text


def test_locate_outside_every_boundary_says_so(barcelona):
    with pytest.raises(CommandError, match="No authority covers this location"):
        call_command("locate", "41.35", "2.25")


def test_locate_csv_routes_good_rows_and_reports_bad_ones_without_stopping(barcelona, tmp_path):
    source = tmp_path / "points.csv"
    source.write_text(
        "lat,lon\n41.4036,2.1744\nnot,a number\n41.35,2.25\n95,2.1\n41.3839,2.1762\n\n41.1\n"
    )
    output = tmp_path / "routed.csv"
    err = StringIO()

    call_command("locate", "--csv", str(source), "--output", str(output), stderr=err)

    assert output.read_text().splitlines() == [
        "lat,lon,authority_slugs",
        "41.4036,2.1744,eixample;barcelona",
        "41.35,2.25,",
        "41.3839,2.1762,ciutat-vella;barcelona",
    ]
    messages = err.getvalue()
    assert "line 3:" in messages and "line 5:" in messages and "line 8:" in messages
    assert "3 points routed (1 outside every authority), 3 bad rows skipped." in messages


def test_locate_without_arguments_explains_usage(db):
    with pytest.raises(CommandError, match="Give LAT LON, or --csv FILE"):
        call_command("locate")
