"""Examples for the OpenAPI documentation (/api/schema/, /api/docs/): a request and an answer for
every operation, from the Barcelona demo. tests/api/test_schema_docs.py checks each one against
the schema it illustrates, so an example cannot drift from what the API accepts and answers."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample

from .renderers import GeoJSONRenderer

AT = "2026-05-04T09:15:00+02:00"
REPORT: dict[str, Any] = {
    "id": 4321,
    "ref": "7KQ2MXR",
    "title": "Deep pothole at the zebra crossing",
    "description": "About 30 cm wide, cyclists swerve into the traffic to avoid it.",
    "category": "pavement",
    "latitude": 41.4036,
    "longitude": 2.1744,
    "authority": {"slug": "eixample", "name": "Districte de l'Eixample"},
    "state": "open",
    "priority": "normal",
    "extra": {},
    "reporter": "Anonymous",
    "created_at": AT,
    "updated_at": AT,
    "confirmed_at": AT,
    "sent_at": "2026-05-04T09:15:03+02:00",
    "verified_at": None,
    "fixed_at": None,
    "closed_at": None,
    "url": "https://fixpoint.example/reports/7KQ2MXR/",
}
DETAIL: dict[str, Any] = {
    **REPORT,
    "supporters": 2,
    "duplicate_of": None,
    "history": [
        {
            "from_state": "",
            "to_state": "open",
            "actor_kind": "reporter",
            "public_note": "",
            "created_at": AT,
        }
    ],
    "updates": [
        {
            "id": 88,
            "text": "Still there this morning, now with a cone in it.",
            "opinion": "still_a_problem",
            "author": None,
            "created_at": "2026-05-06T08:02:00+02:00",
        }
    ],
}
FIXED: dict[str, Any] = {
    **DETAIL,
    "state": "fixed",
    "updated_at": "2026-05-08T12:00:00+02:00",
    "fixed_at": "2026-05-08T12:00:00+02:00",
    "history": [
        *DETAIL["history"],
        {
            "from_state": "open",
            "to_state": "fixed",
            "actor_kind": "staff",
            "public_note": "Resurfaced this morning.",
            "created_at": "2026-05-08T12:00:00+02:00",
        },
    ],
}
CATEGORY: dict[str, Any] = {
    "slug": "pavement",
    "name": "Pavement or road surface",
    "group": "Streets",
    "description": "Potholes, loose slabs, sunken kerbs.",
    "icon": "road",
    "colour": "#c0392b",
    "questions": [
        {
            "code": "size",
            "label": "How big is it?",
            "help_text": "",
            "datatype": "singlevaluelist",
            "required": False,
            "values": [{"key": "small", "name": "Small"}, {"key": "large", "name": "Large"}],
            "order": 1,
        }
    ],
}
AUTHORITY: dict[str, Any] = {
    "slug": "eixample",
    "name": "Districte de l'Eixample",
    "kind": "district",
    "parent": "barcelona",
    "email": "eixample@fixpoint.example",
    "phone": "010",
    "website": "https://ajuntament.barcelona.cat/eixample/",
}


def _feature(report: dict[str, Any]) -> dict[str, Any]:
    properties = {k: v for k, v in report.items() if k not in ("latitude", "longitude")}
    return {
        "type": "Feature",
        "id": report["id"],
        "geometry": {"type": "Point", "coordinates": [report["longitude"], report["latitude"]]},
        "properties": properties,
    }


def answer(name: str, value: Any, code: int = 200) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, status_codes=[str(code)])


def answer_in_both(name: str, value: Any, code: int = 200) -> list[OpenApiExample]:
    """An answer that is not a report: the same JSON whether GeoJSON was asked for or not."""
    return [
        answer(name, value, code),
        OpenApiExample(
            name,
            value=value,
            response_only=True,
            status_codes=[str(code)],
            media_type=GeoJSONRenderer.media_type,
        ),
    ]


def body(name: str, value: Any) -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=True)


def report_answers(name: str, detail: dict[str, Any], code: int = 200) -> list[OpenApiExample]:
    """The same answer as JSON and as a GeoJSON Feature (?format=geojson)."""
    return [
        answer(name, detail, code),
        OpenApiExample(
            f"{name} (GeoJSON)",
            value=_feature(detail),
            response_only=True,
            status_codes=[str(code)],
            media_type=GeoJSONRenderer.media_type,
        ),
    ]


REPORT_LIST = [
    answer("A page of reports", REPORT),  # drf-spectacular wraps it in the cursor page
    OpenApiExample(
        "A page of reports (GeoJSON)",
        value={
            "type": "FeatureCollection",
            "features": [_feature(REPORT)],
            "next": "https://fixpoint.example/api/v1/reports/?cursor=cD0yMDI2LTA1LTA0",
            "previous": None,
        },
        response_only=True,
        media_type=GeoJSONRenderer.media_type,
    ),
]
REPORT_DETAIL = report_answers("A report with its history and updates", DETAIL)
REPORT_CREATE = [
    body(
        "File a pothole",
        {
            "title": REPORT["title"],
            "description": REPORT["description"],
            "category": "pavement",
            "latitude": 41.4036,
            "longitude": 2.1744,
            "extra": {"size": "large"},
            "show_name": False,
        },
    ),
    body(
        "An app files for a citizen (a key that files for citizens): she confirms it by e-mail",
        {
            "title": REPORT["title"],
            "description": REPORT["description"],
            "category": "pavement",
            "latitude": 41.4036,
            "longitude": 2.1744,
            "email": "ana@example.org",
            "first_name": "Ana",
            "last_name": "Puig",
        },
    ),
    *report_answers(
        "The report as filed",
        {**DETAIL, "supporters": 0, "updates": [], "extra": {"size": "large"}},
        201,
    ),
]
UPDATE_CREATE = [
    body(
        "The reporter says it is still there",
        {"text": "Still there this morning.", "opinion": "still_a_problem", "show_name": False},
    ),
    *answer_in_both("The update as shown", DETAIL["updates"][0], 201),
]
SUPPORT = answer_in_both("Supported", {"added": True, "supporters": 3})
TRANSITION = [
    body(
        "Staff mark it fixed",
        {
            "state": "fixed",
            "public_note": "Resurfaced this morning.",
            "internal_note": "Crew 4, 2 bags of asphalt.",
            "duplicate_of": "",
        },
    ),
    *report_answers("The report, now fixed", FIXED),
]
ASSIGN = [
    body("Give it to a colleague", {"assignee": "inspector.eixample@fixpoint.example"}),
    *report_answers("The report, assigned", DETAIL),
]
PRIORITY = [
    body("Make it urgent", {"priority": "urgent"}),
    *report_answers("The report, now urgent", {**DETAIL, "priority": "urgent"}),
]
PRIVACY = [
    body("Make it private", {"private": True, "reason": "The photo shows a number plate"}),
    *answer_in_both("Private now", {"id": 1042, "ref": "7K2M9QXA", "private": True}),
]
REROUTE = [
    body("Re-categorise it as waste", {"category": "waste-collection"}),
    *report_answers(
        "The report, now the city's",
        {
            **DETAIL,
            "category": "waste-collection",
            "authority": {"slug": "barcelona", "name": "Ajuntament de Barcelona"},
        },
    ),
]
LOCATE = [
    answer(
        "A point in the Eixample",
        {
            "authorities": [
                {"slug": "eixample", "name": "Districte de l'Eixample", "kind": "district"},
                {"slug": "barcelona", "name": "Ajuntament de Barcelona", "kind": "council"},
            ],
            "categories": [
                {
                    "slug": "pavement",
                    "name": "Pavement or road surface",
                    "group": "Streets",
                    "authority": {"slug": "eixample", "name": "Districte de l'Eixample"},
                },
                {
                    "slug": "waste-collection",
                    "name": "Waste collection",
                    "group": "Cleaning",
                    "authority": {"slug": "barcelona", "name": "Ajuntament de Barcelona"},
                },
            ],
        },
    )
]
CATEGORIES = [answer("A category with one question", CATEGORY)]
AUTHORITIES = [answer("A district", AUTHORITY)]
AUTHORITIES_WITH_BOUNDARY = [
    answer(
        "A district with its boundary (?boundary=1)",
        {
            **AUTHORITY,
            "boundary": {
                "type": "Polygon",
                "coordinates": [
                    [[2.15, 41.38], [2.18, 41.38], [2.18, 41.40], [2.15, 41.40], [2.15, 41.38]]
                ],
            },
        },
    )
]
STATS = [
    answer(
        "A district's figures",
        {
            "authority": "eixample",
            "total": 1250,
            "by_state": {
                "open": 310,
                "verified": 40,
                "in_progress": 55,
                "fixed": 520,
                "closed": 280,
                "duplicate": 30,
                "not_responsible": 15,
            },
            "fixed_last_30_days": 61,
            "median_days_to_fix": 6.5,
            "supporters": 2210,
        },
    )
]
TOKEN = [
    body("An account's e-mail and password", {"username": "ana@example.org", "password": "…"}),
    answer("The token", {"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"}),
]


def _figures(received: int, open_: int, fixed: int, **more: object) -> dict[str, object]:
    return {
        "received": received,
        "open": open_,
        "fixed": fixed,
        "enough_reports": received >= 10,
        "median_days_to_fix": None,
        "p90_days_to_fix": None,
        "fixed_within_target": None,
        "questionnaires_answered": 0,
        "citizens_fix_rate": None,
        **more,
    }


PERFORMANCE = [
    answer(
        "A district's year",
        {
            "authority": {"slug": "eixample", "name": "Eixample"},
            "period": {"start": "2025-05-04T10:00:00+00:00", "end": "2026-05-04T10:00:00+00:00"},
            "minimum_reports": 10,
            "categories": [
                {
                    "category": "pothole",
                    "name": "Pothole",
                    "sla_verify_hours": 48,
                    "sla_fix_hours": 240,
                    **_figures(
                        412,
                        37,
                        351,
                        median_days_to_fix=6.5,
                        p90_days_to_fix=19.0,
                        fixed_within_target=0.71,
                        questionnaires_answered=88,
                        citizens_fix_rate=0.83,
                    ),
                    "city": _figures(
                        3120,
                        402,
                        2544,
                        median_days_to_fix=8.1,
                        p90_days_to_fix=26.5,
                        fixed_within_target=0.62,
                        questionnaires_answered=610,
                        citizens_fix_rate=0.79,
                    ),
                },
                {
                    "category": "fallen-tree",
                    "name": "Fallen tree",
                    "sla_verify_hours": 4,
                    "sla_fix_hours": 24,
                    **_figures(3, 0, 3),
                    "city": _figures(41, 2, 37, median_days_to_fix=0.8, p90_days_to_fix=2.1),
                },
            ],
            "total": {
                **_figures(415, 37, 354, median_days_to_fix=6.4, p90_days_to_fix=19.0),
                "city": _figures(3161, 404, 2581, median_days_to_fix=8.0, p90_days_to_fix=26.4),
            },
        },
    )
]
