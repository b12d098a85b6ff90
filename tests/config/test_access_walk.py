"""The accessibility walk (tests/browser/access_walk.py) opens every page of the site: each URL
pattern is walked or excluded with a reason, so a new page cannot be left out unseen."""

from __future__ import annotations

from tests.browser.access_walk import EXCLUDED, EXCLUDED_PREFIXES, WALK
from tests.config.fuzzing import routes


def _site_routes() -> set[str]:
    return {
        route.template
        for route in routes()
        if not any(route.template.startswith(prefix) for prefix in EXCLUDED_PREFIXES)
    }


def test_every_page_of_the_site_is_in_the_accessibility_walk_or_excluded_with_a_reason():
    walked = {visit.route for visit in WALK}

    forgotten = _site_routes() - walked - EXCLUDED.keys()

    assert not forgotten, (
        "Pages the accessibility walk does not open: add a Visit to WALK in "
        f"tests/browser/access_walk.py, or an EXCLUDED entry saying why: {sorted(forgotten)}"
    )


def test_the_walk_and_its_exclusions_name_only_urls_the_site_has():
    known = _site_routes()
    walked = {visit.route for visit in WALK}

    assert walked - known == set()
    assert EXCLUDED.keys() - known == set()
    assert walked & EXCLUDED.keys() == set()
    assert all(reason.strip() for reason in [*EXCLUDED.values(), *EXCLUDED_PREFIXES.values()])
