"""The Barcelona demo: the City Council and its 10 districts from the real boundaries, a two-tier
split of categories, staff accounts and about 300 reports with plausible histories.

Split: districts look after the street itself (lighting, pavement, street furniture, blocked
pavements), as Barcelona's district offices do; city-wide contracts and departments (waste
collection and cleaning, parks and trees, graffiti, traffic lights, abandoned vehicles) belong to
the City Council.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from allauth.account.models import EmailAddress
from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone, translation

from accounts.models import User
from authorities import routing
from authorities import services as authority_services
from authorities.geocoding.files import open_gazetteer_file
from authorities.geocoding.services import gazetteer_import
from authorities.models import Authority, AuthorityKind, Category, CategoryQuestion, StaffRole
from authorities.services import BoundaryFeature

from . import services
from .models import (
    Delivery,
    DeliveryStatus,
    Notification,
    Opinion,
    Report,
    ReportState,
    ResponseTemplate,
)

DATA_DIR = Path(__file__).resolve().parent.parent / "authorities" / "data" / "barcelona"
CITY_SLUG = "barcelona"
DEMO_PASSWORD = "fixpoint-demo"  # noqa: S105 (published on purpose: demo accounts only)
ADMIN_EMAIL = "admin@demo.fixpoint.test"

# Targets for the staff queue's overdue flag: (hours to verify, hours to fix), by category slug or
# by tier. Street lighting is a safety matter at night, so it is verified and fixed sooner.
SLA_HOURS: dict[str, tuple[int, int]] = {
    "district": (48, 14 * 24),
    "city": (72, 21 * 24),
    "street-lighting": (24, 5 * 24),
}

# Response templates for every authority: (title, the state it is for, text).
# title and text in English, Catalan and Spanish, and the state they answer
RESPONSE_TEMPLATES: list[tuple[str, dict[str, tuple[str, str]]]] = [
    (
        "verified",
        {
            "en": (
                "Verified: crew booked",
                "Thank you. Our inspectors have confirmed the problem and a crew will be booked.",
            ),
            "ca": (
                "Verificada: brigada programada",
                "Gràcies. Els nostres inspectors han confirmat el problema i hi enviarem una "
                "brigada.",
            ),
            "es": (
                "Verificada: cuadrilla programada",
                "Gracias. Nuestros inspectores han confirmado el problema y enviaremos una "
                "cuadrilla.",
            ),
        },
    ),
    (
        "in_progress",
        {
            "en": ("Work started", "A crew is working on it now."),
            "ca": ("Treballs començats", "Una brigada hi està treballant ara."),
            "es": ("Trabajos iniciados", "Una cuadrilla está trabajando en ello ahora."),
        },
    ),
    (
        "fixed",
        {
            "en": ("Fixed", "This has been repaired. Thank you for reporting it."),
            "ca": ("Resolta", "S'ha reparat. Gràcies per comunicar-ho."),
            "es": ("Resuelta", "Se ha reparado. Gracias por comunicarlo."),
        },
    ),
    (
        "not_responsible",
        {
            "en": (
                "Not ours",
                "This is not the council's responsibility; we have passed it to whoever is "
                "responsible.",
            ),
            "ca": (
                "No és competència nostra",
                "Això no és competència de l'Ajuntament; ho hem traslladat a qui en és "
                "responsable.",
            ),
            "es": (
                "No es de nuestra competencia",
                "Esto no es competencia del Ayuntamiento; lo hemos trasladado a quien corresponde.",
            ),
        },
    ),
]

# slug, name, group, colour, handled by ("district" or "city"), titles
CATEGORIES: list[tuple[str, str, str, str, str, list[str]]] = [
    (
        "street-lighting",
        "Street lighting",
        "Lighting",
        "#f2b705",
        "district",
        [
            "Street lamp not working",
            "Lamp post flickering all night",
            "Whole street dark",
            "Lamp on during the day",
            "Exposed wiring at lamp post base",
        ],
    ),
    (
        "pavement",
        "Potholes and damaged pavement",
        "Roads",
        "#8c564b",
        "district",
        [
            "Pothole in the road",
            "Loose paving slabs",
            "Cracked pavement by the crossing",
            "Sunken drain cover",
            "Tree roots lifting the pavement",
        ],
    ),
    (
        "street-furniture",
        "Benches and street furniture",
        "Street furniture",
        "#17becf",
        "district",
        [
            "Broken bench",
            "Bollard knocked over",
            "Damaged bus shelter glass",
            "Missing street sign",
            "Water fountain not working",
        ],
    ),
    (
        "blocked-pavement",
        "Blocked pavements and ramps",
        "Roads",
        "#9467bd",
        "district",
        [
            "Scaffolding blocks the pavement",
            "Kerb ramp blocked",
            "Motorbikes parked on the pavement",
            "Terrace tables block the way",
        ],
    ),
    (
        "waste-collection",
        "Waste collection and bins",
        "Waste",
        "#2ca02c",
        "city",
        [
            "Overflowing bin",
            "Recycling container full for days",
            "Bin not emptied",
            "Broken container lid",
            "Rubbish bags left beside the containers",
        ],
    ),
    (
        "illegal-dumping",
        "Dumped furniture and rubbish",
        "Waste",
        "#1f6f1f",
        "city",
        [
            "Mattress dumped on the street",
            "Old sofa left on the pavement",
            "Building rubble dumped",
            "Fridge abandoned by the bins",
        ],
    ),
    (
        "parks-and-trees",
        "Parks and trees",
        "Parks",
        "#006d2c",
        "city",
        [
            "Fallen branch",
            "Dead tree needs removing",
            "Playground swing broken",
            "Park irrigation leaking",
            "Overgrown hedge blocks the path",
        ],
    ),
    (
        "graffiti",
        "Graffiti",
        "Cleaning",
        "#d62728",
        "city",
        [
            "Graffiti on a school wall",
            "Offensive graffiti",
            "Tagging on the shop shutters",
            "Graffiti on a monument",
        ],
    ),
    (
        "traffic-lights",
        "Traffic lights",
        "Traffic",
        "#ff7f0e",
        "city",
        [
            "Traffic light stuck on red",
            "Pedestrian signal not working",
            "Traffic light knocked crooked",
            "Crossing beeper broken",
        ],
    ),
    (
        "abandoned-vehicles",
        "Abandoned vehicles",
        "Traffic",
        "#7f7f7f",
        "city",
        [
            "Abandoned car with flat tyres",
            "Motorbike abandoned for months",
            "Burnt-out scooter",
            "Van with broken windows left for weeks",
        ],
    ),
]

# Each category's name and group in Catalan and Spanish (English above): slug -> language ->
# (name, group). Barcelona's own words: "fanal" / "farola", "clot" / "bache", "voravia" / "acera".
CATEGORY_TRANSLATIONS: dict[str, dict[str, tuple[str, str]]] = {
    "street-lighting": {
        "ca": ("Enllumenat públic", "Enllumenat"),
        "es": ("Alumbrado público", "Alumbrado"),
    },
    "pavement": {
        "ca": ("Clots i voreres malmeses", "Vies públiques"),
        "es": ("Baches y aceras dañadas", "Vías públicas"),
    },
    "street-furniture": {
        "ca": ("Bancs i mobiliari urbà", "Mobiliari urbà"),
        "es": ("Bancos y mobiliario urbano", "Mobiliario urbano"),
    },
    "blocked-pavement": {
        "ca": ("Voreres i rampes obstaculitzades", "Vies públiques"),
        "es": ("Aceras y rampas obstaculizadas", "Vías públicas"),
    },
    "waste-collection": {
        "ca": ("Recollida de residus i contenidors", "Residus"),
        "es": ("Recogida de residuos y contenedores", "Residuos"),
    },
    "illegal-dumping": {
        "ca": ("Mobles i runa abandonats", "Residus"),
        "es": ("Muebles y escombros abandonados", "Residuos"),
    },
    "parks-and-trees": {"ca": ("Parcs i arbrat", "Parcs"), "es": ("Parques y arbolado", "Parques")},
    "graffiti": {"ca": ("Pintades", "Neteja"), "es": ("Pintadas", "Limpieza")},
    "traffic-lights": {"ca": ("Semàfors", "Trànsit"), "es": ("Semáforos", "Tráfico")},
    "abandoned-vehicles": {
        "ca": ("Vehicles abandonats", "Trànsit"),
        "es": ("Vehículos abandonados", "Tráfico"),
    },
}

# Words people search with that a category's name does not contain: its description, in every
# language, so that "farola" or "bache" finds the category (reports.selectors.search_reports).
CATEGORY_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "street-lighting": {
        "en": "Street lamps that are off, flicker or stay on by day.",
        "ca": "Fanals apagats, que fan pampallugues o que estan encesos de dia.",
        "es": "Farolas apagadas, que parpadean o que están encendidas de día.",
    },
    "pavement": {
        "en": "Potholes, loose paving slabs and sunken drain covers.",
        "ca": "Clots, panots solts i tapes de claveguera enfonsades.",
        "es": "Baches, baldosas sueltas y tapas de alcantarilla hundidas.",
    },
}

QUESTIONS: dict[str, list[dict[str, Any]]] = {
    "street-lighting": [
        {
            "code": "lamp_number",
            "label": "Number on the lamp post",
            "label_ca": "Número del fanal",
            "label_es": "Número de la farola",
            "datatype": "string",
            "help_text": "Usually on a small plate at eye height.",
            "help_text_ca": "Sol ser en una placa petita a l'altura dels ulls.",
            "help_text_es": "Suele estar en una placa pequeña a la altura de los ojos.",
        },
    ],
    "pavement": [
        {
            "code": "size",
            "label": "How big is it?",
            "label_ca": "Com és de gran?",
            "label_es": "¿Qué tamaño tiene?",
            "datatype": "singlevaluelist",
            "values": [
                {
                    "key": "small",
                    "name": "Smaller than a hand",
                    "name_ca": "Més petit que una mà",
                    "name_es": "Más pequeño que una mano",
                },
                {
                    "key": "medium",
                    "name": "Up to a shoe box",
                    "name_ca": "Com una capsa de sabates",
                    "name_es": "Como una caja de zapatos",
                },
                {
                    "key": "large",
                    "name": "Larger than that",
                    "name_ca": "Més gran",
                    "name_es": "Más grande",
                },
            ],
        },
    ],
    "waste-collection": [
        {
            "code": "container",
            "label": "Which container?",
            "label_ca": "Quin contenidor?",
            "label_es": "¿Qué contenedor?",
            "datatype": "singlevaluelist",
            "required": True,
            "values": [
                {"key": "general", "name": "General waste", "name_ca": "Resta", "name_es": "Resto"},
                {
                    "key": "paper",
                    "name": "Paper and cardboard",
                    "name_ca": "Paper i cartró",
                    "name_es": "Papel y cartón",
                },
                {"key": "glass", "name": "Glass", "name_ca": "Vidre", "name_es": "Vidrio"},
                {
                    "key": "packaging",
                    "name": "Plastic and packaging",
                    "name_ca": "Envasos",
                    "name_es": "Envases",
                },
                {"key": "organic", "name": "Organic", "name_ca": "Orgànica", "name_es": "Orgánica"},
            ],
        },
    ],
    "abandoned-vehicles": [
        {
            "code": "plate",
            "label": "Number plate (if visible)",
            "label_ca": "Matrícula (si es veu)",
            "label_es": "Matrícula (si se ve)",
            "datatype": "string",
        },
    ],
}

# Citizens write in their own language, as on Barcelona's own site: most in Catalan, many in
# Spanish, some in English (CITIZENS); staff answer a report in the language it was written in.
# The English titles are CATEGORIES'; these are the same problems, in the same order.
TITLES: dict[str, dict[str, list[str]]] = {
    "ca": {
        "street-lighting": [
            "Fanal que no funciona",
            "Fanal que fa pampallugues tota la nit",
            "Tot el carrer a les fosques",
            "Fanal encès de dia",
            "Cables a la vista a la base del fanal",
        ],
        "pavement": [
            "Clot a la calçada",
            "Panots solts",
            "Vorera esquerdada al costat del pas de vianants",
            "Tapa de claveguera enfonsada",
            "Arrels d'arbre que aixequen la vorera",
        ],
        "street-furniture": [
            "Banc trencat",
            "Pilona tombada",
            "Vidre de la marquesina de l'autobús trencat",
            "Falta la placa del carrer",
            "Font d'aigua que no raja",
        ],
        "blocked-pavement": [
            "Una bastida bloqueja la vorera",
            "Rampa del pas de vianants bloquejada",
            "Motos aparcades a la vorera",
            "Les taules d'una terrassa barren el pas",
        ],
        "waste-collection": [
            "Contenidor ple a vessar",
            "Contenidor de reciclatge ple des de fa dies",
            "No han buidat el contenidor",
            "Tapa del contenidor trencada",
            "Bosses d'escombraries al costat dels contenidors",
        ],
        "illegal-dumping": [
            "Matalàs abandonat al carrer",
            "Sofà vell deixat a la vorera",
            "Runa d'obra abocada",
            "Nevera abandonada al costat dels contenidors",
        ],
        "parks-and-trees": [
            "Branca caiguda",
            "Cal retirar un arbre sec",
            "Gronxador del parc infantil trencat",
            "Fuita al reg del parc",
            "Una bardissa massa crescuda tapa el camí",
        ],
        "graffiti": [
            "Pintades a la paret d'una escola",
            "Pintada ofensiva",
            "Signatures pintades a les persianes de les botigues",
            "Pintades en un monument",
        ],
        "traffic-lights": [
            "Semàfor encallat en vermell",
            "Semàfor de vianants espatllat",
            "Semàfor tort després d'un cop",
            "L'avís sonor del pas de vianants no funciona",
        ],
        "abandoned-vehicles": [
            "Cotxe abandonat amb les rodes punxades",
            "Moto abandonada des de fa mesos",
            "Ciclomotor cremat",
            "Furgoneta amb els vidres trencats aparcada des de fa setmanes",
        ],
    },
    "es": {
        "street-lighting": [
            "Farola que no funciona",
            "Farola que parpadea toda la noche",
            "Toda la calle a oscuras",
            "Farola encendida de día",
            "Cables al aire en la base de la farola",
        ],
        "pavement": [
            "Bache en la calzada",
            "Baldosas sueltas",
            "Acera agrietada junto al paso de peatones",
            "Tapa de alcantarilla hundida",
            "Raíces de árbol que levantan la acera",
        ],
        "street-furniture": [
            "Banco roto",
            "Bolardo derribado",
            "Cristal de la marquesina del autobús roto",
            "Falta la placa de la calle",
            "Fuente de agua que no funciona",
        ],
        "blocked-pavement": [
            "Un andamio bloquea la acera",
            "Rampa del paso de peatones bloqueada",
            "Motos aparcadas en la acera",
            "Las mesas de una terraza impiden el paso",
        ],
        "waste-collection": [
            "Contenedor desbordado",
            "Contenedor de reciclaje lleno desde hace días",
            "No han vaciado el contenedor",
            "Tapa del contenedor rota",
            "Bolsas de basura junto a los contenedores",
        ],
        "illegal-dumping": [
            "Colchón tirado en la calle",
            "Sofá viejo dejado en la acera",
            "Escombros de obra vertidos",
            "Nevera abandonada junto a los contenedores",
        ],
        "parks-and-trees": [
            "Rama caída",
            "Hay que retirar un árbol seco",
            "Columpio del parque infantil roto",
            "Fuga en el riego del parque",
            "Un seto demasiado crecido tapa el camino",
        ],
        "graffiti": [
            "Pintadas en la pared de una escuela",
            "Pintada ofensiva",
            "Firmas pintadas en las persianas de las tiendas",
            "Pintadas en un monumento",
        ],
        "traffic-lights": [
            "Semáforo atascado en rojo",
            "Semáforo de peatones averiado",
            "Semáforo torcido por un golpe",
            "El aviso sonoro del paso de peatones no funciona",
        ],
        "abandoned-vehicles": [
            "Coche abandonado con las ruedas pinchadas",
            "Moto abandonada desde hace meses",
            "Ciclomotor quemado",
            "Furgoneta con los cristales rotos aparcada desde hace semanas",
        ],
    },
}

DETAILS: dict[str, list[str]] = {
    "en": [
        "It has been like this for about a week.",
        "Noticed it this morning on my way to work.",
        "It is dangerous for people with prams and wheelchairs.",
        "Neighbours have mentioned it too.",
        "It gets worse when it rains.",
        "Right in front of the school gate.",
        "Next to the bus stop.",
    ],
    "ca": [
        "Fa gairebé una setmana que està així.",
        "M'hi he fixat aquest matí anant a la feina.",
        "És perillós per als cotxets i les cadires de rodes.",
        "Els veïns també ho han comentat.",
        "Quan plou, empitjora.",
        "Just davant de la porta de l'escola.",
        "Al costat de la parada de l'autobús.",
    ],
    "es": [
        "Lleva así casi una semana.",
        "Me he dado cuenta esta mañana de camino al trabajo.",
        "Es peligroso para los carritos de bebé y las sillas de ruedas.",
        "Los vecinos también lo han comentado.",
        "Cuando llueve, empeora.",
        "Justo delante de la puerta del colegio.",
        "Al lado de la parada del autobús.",
    ],
}

STILL_THERE = {"en": "Still there today.", "ca": "Avui encara hi és.", "es": "Hoy sigue ahí."}

STAFF_NOTES: dict[str, dict[str, list[str]]] = {
    "en": {
        ReportState.VERIFIED: [
            "Thank you. An inspector has confirmed the problem.",
            "Checked on site: we have scheduled the repair.",
        ],
        ReportState.IN_PROGRESS: [
            "Work order issued to the maintenance team.",
            "Our contractor is on it this week.",
        ],
        ReportState.FIXED: [
            "Repaired. Thank you for reporting it.",
            "Done: the crew fixed it today.",
        ],
        ReportState.CLOSED: ["Closing this report: the work is complete."],
        ReportState.DUPLICATE: ["This was already reported; follow the original report."],
        ReportState.NOT_RESPONSIBLE: ["This is private property: we have told the owner."],
        ReportState.SPAM: [""],
    },
    "ca": {
        ReportState.VERIFIED: [
            "Gràcies. Un inspector ha confirmat el problema.",
            "Comprovat in situ: hem programat la reparació.",
        ],
        ReportState.IN_PROGRESS: [
            "S'ha passat l'ordre de treball a l'equip de manteniment.",
            "L'empresa adjudicatària s'hi posa aquesta setmana.",
        ],
        ReportState.FIXED: [
            "Reparat. Gràcies per comunicar-ho.",
            "Fet: la brigada ho ha arreglat avui.",
        ],
        ReportState.CLOSED: ["Tanquem aquesta incidència: la feina s'ha acabat."],
        ReportState.DUPLICATE: ["Això ja s'havia comunicat; seguiu la incidència original."],
        ReportState.NOT_RESPONSIBLE: ["És una propietat privada: n'hem avisat el propietari."],
        ReportState.SPAM: [""],
    },
    "es": {
        ReportState.VERIFIED: [
            "Gracias. Un inspector ha confirmado el problema.",
            "Comprobado in situ: hemos programado la reparación.",
        ],
        ReportState.IN_PROGRESS: [
            "Se ha pasado la orden de trabajo al equipo de mantenimiento.",
            "La empresa adjudicataria se pone con ello esta semana.",
        ],
        ReportState.FIXED: [
            "Reparado. Gracias por comunicarlo.",
            "Hecho: la cuadrilla lo ha arreglado hoy.",
        ],
        ReportState.CLOSED: ["Cerramos esta incidencia: el trabajo ha terminado."],
        ReportState.DUPLICATE: ["Esto ya se había comunicado; siga la incidencia original."],
        ReportState.NOT_RESPONSIBLE: ["Es una propiedad privada: hemos avisado al propietario."],
        ReportState.SPAM: [""],
    },
}

# target state -> the moves that lead there from open
PATHS: dict[str, list[str]] = {
    ReportState.OPEN: [],
    ReportState.VERIFIED: [ReportState.VERIFIED],
    ReportState.IN_PROGRESS: [ReportState.VERIFIED, ReportState.IN_PROGRESS],
    ReportState.FIXED: [ReportState.VERIFIED, ReportState.IN_PROGRESS, ReportState.FIXED],
    ReportState.CLOSED: [ReportState.VERIFIED, ReportState.FIXED, ReportState.CLOSED],
    ReportState.DUPLICATE: [ReportState.DUPLICATE],
    ReportState.NOT_RESPONSIBLE: [ReportState.NOT_RESPONSIBLE],
    ReportState.SPAM: [ReportState.SPAM],
}
STATE_WEIGHTS = {
    ReportState.UNCONFIRMED: 4,
    ReportState.OPEN: 24,
    ReportState.VERIFIED: 14,
    ReportState.IN_PROGRESS: 12,
    ReportState.FIXED: 22,
    ReportState.CLOSED: 10,
    ReportState.DUPLICATE: 6,
    ReportState.NOT_RESPONSIBLE: 4,
    ReportState.SPAM: 4,
}
# handle, name, the language they write their reports and updates in
CITIZENS = [
    ("marta", "Marta Puig", "ca"),
    ("jordi", "Jordi Soler", "ca"),
    ("aisha", "Aisha Benali", "es"),
    ("li", "Li Wei", "en"),
    ("pau", "Pau Ferrer", "ca"),
    ("elena", "Elena Ruiz", "es"),
]
ANONYMOUS_CALLER_LANGUAGE = "ca"  # Carles Vidal, who files without an account


@dataclass
class DemoSummary:
    authorities: int = 0
    categories: int = 0
    reports_created: int = 0
    reports_already_there: int = 0
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (role, email, password)


def demo_load(
    *, reports: int = 300, seed: int = 2026, progress: Callable[[str], None] = print
) -> DemoSummary:
    """Load (or refresh) the demo. Safe to run again: nothing is duplicated."""
    summary = DemoSummary()
    with transaction.atomic():
        city, districts = _load_authorities(progress)
        _load_neighbourhoods(city)
        _load_gazetteer()
        summary.authorities = 1 + len(districts)
        categories = _load_categories(city, districts)
        summary.categories = len(categories)
        staff = _load_people(city, districts, summary)
    summary.reports_already_there = Report.objects.count()
    if summary.reports_already_there == 0:
        progress(f"Creating {reports} demo reports...")
        with transaction.atomic():
            summary.reports_created = _load_reports(reports, seed, categories, staff)
            # The demo's people and council addresses are invented: nobody is waiting for these
            # e-mails. Its history says each report reached its council when it opened.
            Notification.objects.all().delete()
            _record_demo_deliveries()
    return summary


def _load_authorities(progress: Callable[[str], None]) -> tuple[Authority, list[Authority]]:
    city_geometry = json.loads((DATA_DIR / "terme-municipal.geojson").read_text())["features"][0]
    city = Authority.objects.filter(slug=CITY_SLUG).first() or Authority(slug=CITY_SLUG)
    # Its own name, the same in every language (as the districts' Catalan names are).
    city.name, city.kind = "Ajuntament de Barcelona", AuthorityKind.COUNCIL
    city.language = "ca"  # its staff read the reports e-mailed to them in Catalan
    city.boundary, city.code = city_geometry["geometry"], "080193"
    city.email, city.website = "incidencies@bcn.demo.fixpoint.test", "https://www.barcelona.cat"
    authority_services.authority_save(authority=city)
    data = json.loads((DATA_DIR / "districtes.geojson").read_text())
    features = [
        BoundaryFeature(n, f["properties"]["NOM"], f["properties"]["CODI_UA"], f["geometry"])
        for n, f in enumerate(data["features"], 1)
    ]
    result = authority_services.boundaries_import(
        features=features, parent=city, kind=AuthorityKind.DISTRICT
    )
    progress(f"Districts: {result.created} created, {result.updated} updated.")
    districts = list(Authority.objects.filter(parent=city).order_by("code"))
    for district in districts:
        if not district.email or district.language != "ca":
            district.email = district.email or f"incidencies.{district.slug}@bcn.demo.fixpoint.test"
            district.language = "ca"
            authority_services.authority_save(authority=district)
    return city, districts


def _load_neighbourhoods(city: Authority) -> None:
    data = json.loads((DATA_DIR / "barris.geojson").read_text())
    features = [
        BoundaryFeature(n, f["properties"]["NOM"], f["properties"]["CODI_UA"], f["geometry"])
        for n, f in enumerate(data["features"], 1)
    ]
    authority_services.areas_import(features=features, kind="neighbourhood", authority=city)


def _load_gazetteer() -> None:
    """Well-known places and a few addresses, so that search finds them out of the box (their
    source and licence: README, "Data and licences"). A second run updates them in place."""
    for name in ("places.geojson", "addresses.csv"):
        opened = open_gazetteer_file(DATA_DIR / "gazetteer" / name)
        gazetteer_import(rows=opened.rows, source="barcelona-demo-" + name.split(".")[0])


def _load_categories(city: Authority, districts: list[Authority]) -> list[Category]:
    categories = []
    for order, (slug, name, group, colour, tier, _titles) in enumerate(CATEGORIES):
        verify, fix = SLA_HOURS.get(slug, SLA_HOURS[tier])
        names = CATEGORY_TRANSLATIONS[slug]
        descriptions = CATEGORY_DESCRIPTIONS.get(slug, {})
        category = authority_services.category_upsert(
            slug=slug,
            name=name,
            group=group,
            name_en=name,
            group_en=group,
            **{f"name_{code}": names[code][0] for code in names},
            **{f"group_{code}": names[code][1] for code in names},
            **{f"description_{code}": text for code, text in descriptions.items()},
            colour=colour,
            order=order,
            sla_verify_hours=verify,
            sla_fix_hours=fix,
        )
        for number, question in enumerate(QUESTIONS.get(slug, [])):
            CategoryQuestion.objects.update_or_create(
                category=category,
                code=question["code"],
                defaults={
                    **{k: v for k, v in question.items() if k != "code"},
                    "label_en": question["label"],
                    "help_text_en": question.get("help_text", ""),
                    "order": number,
                },
            )
        for authority in districts if tier == "district" else [city]:
            authority_services.authority_category_set(authority=authority, category=category)
        categories.append(category)
    return categories


def _load_people(
    city: Authority, districts: list[Authority], summary: DemoSummary
) -> dict[int, User]:
    admin = _user(ADMIN_EMAIL, "Fixpoint administrator", superuser=True)
    summary.logins.append(("administrator", admin.email, DEMO_PASSWORD))
    staff = {}
    for authority in [city, *districts]:
        user = _user(f"staff.{authority.slug}@demo.fixpoint.test", f"{authority.name} staff")
        authority_services.staff_membership_set(
            user=user, authority=authority, role=StaffRole.INSPECTOR
        )
        staff[authority.id] = user
        summary.logins.append((f"staff of {authority.name}", user.email, DEMO_PASSWORD))
    _load_other_roles(districts, summary)
    _load_response_templates()
    for handle, name, _language in CITIZENS:
        user = _user(f"{handle}@demo.fixpoint.test", name)
    summary.logins.append(("citizen", user.email, DEMO_PASSWORD))
    return staff


def _load_other_roles(districts: list[Authority], summary: DemoSummary) -> None:
    """An administrator and a viewer of one district, to show what each role may do."""
    eixample = next((d for d in districts if d.slug == "eixample"), None)
    if eixample is None:
        return
    for role in (StaffRole.ADMINISTRATOR, StaffRole.VIEWER):
        user = _user(f"{role}.{eixample.slug}@demo.fixpoint.test", f"Eixample {role}")
        authority_services.staff_membership_set(user=user, authority=eixample, role=role)
        summary.logins.append((f"{role} of {eixample.name}", user.email, DEMO_PASSWORD))


@translation.override("en")  # `title` is the English column, whatever language is active
def _load_response_templates() -> None:
    for state, texts in RESPONSE_TEMPLATES:
        ResponseTemplate.objects.update_or_create(
            title_en=texts["en"][0],  # found by its English title: a second run adds nothing
            authority=None,
            category=None,
            defaults={
                "state": state,
                "title": texts["en"][0],
                "text": texts["en"][1],
                **{f"title_{code}": title for code, (title, _text) in texts.items()},
                **{f"text_{code}": text for code, (_title, text) in texts.items()},
            },
        )


def _user(email: str, name: str, superuser: bool = False) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        create = User.objects.create_superuser if superuser else User.objects.create_user
        user = create(email, DEMO_PASSWORD, display_name=name)
    # Verified, so the demo accounts can log in on the site (verification is mandatory there).
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def _load_reports(count: int, seed: int, categories: list[Category], staff: dict[int, User]) -> int:
    rng = random.Random(seed)
    index = routing.get_index()
    writes_in = {f"{handle}@demo.fixpoint.test": language for handle, _, language in CITIZENS}
    citizens = list(User.objects.filter(email__in=writes_in))
    titles = {"en": {c[0]: c[5] for c in CATEGORIES}, **TITLES}
    now = timezone.now()
    made: list[Report] = []
    states, weights = zip(*STATE_WEIGHTS.items(), strict=True)
    while len(made) < count:
        category = rng.choice(categories)
        lat, lon = _random_point(rng, index)
        target = rng.choices(states, weights)[0]
        age = (
            timedelta(hours=rng.uniform(1, 47))
            if target == ReportState.UNCONFIRMED
            else timedelta(days=rng.uniform(2, 180))
        )
        at = now - age
        reporter = None if target == ReportState.UNCONFIRMED else rng.choice(citizens)
        language = writes_in[reporter.email] if reporter else ANONYMOUS_CALLER_LANGUAGE
        report = services.report_create(
            title=rng.choice(titles[language][category.slug]),
            description=" ".join(rng.sample(DETAILS[language], 2)),
            category=category,
            latitude=lat,
            longitude=lon,
            reporter=reporter,
            reporter_name="" if reporter else "Carles Vidal",
            reporter_email="" if reporter else f"carles.{len(made)}@example.com",
            show_name=rng.random() < 0.4,
            extra=_answers(rng, category.slug),
            at=at,
        )
        if target != ReportState.UNCONFIRMED:
            _walk(rng, report, target, staff[report.authority_id], made, at, now, language)
            report.refresh_from_db()
            if report.is_open and rng.random() < 0.25:
                neighbour = rng.choice([c for c in citizens if c != reporter])
                services.report_update_add(
                    report_id=report.pk,
                    author=neighbour,
                    text=STILL_THERE[writes_in[neighbour.email]],
                    opinion=Opinion.STILL_A_PROBLEM,
                    at=min(now, at + timedelta(hours=rng.uniform(1, 30))),
                )
        made.append(report)
    return len(made)


def _record_demo_deliveries() -> None:
    opened = Report.objects.filter(pk=OuterRef("report_id")).values("confirmed_at")[:1]
    Delivery.objects.update(status=DeliveryStatus.SENT, attempts=1, sent_at=Subquery(opened))
    Report.objects.filter(deliveries__isnull=False).update(sent_at=F("confirmed_at"))


def _walk(
    rng: random.Random,
    report: Report,
    target: str,
    staff: User,
    made: list[Report],
    at: datetime,
    now: datetime,
    language: str,
) -> None:
    step = (now - at) / (len(PATHS[target]) + 1)
    for state in PATHS[target]:
        at += step * rng.uniform(0.3, 1.0)
        original = _original(report, made) if state == ReportState.DUPLICATE else None
        if state == ReportState.DUPLICATE and original is None:
            state = ReportState.NOT_RESPONSIBLE
        services.report_transition(
            report_id=report.pk,
            to_state=state,
            actor=staff,
            public_note=rng.choice(STAFF_NOTES[language][ReportState(state)]),
            duplicate_of_id=original.pk if original else None,
            at=at,
        )


def _original(report: Report, made: list[Report]) -> Report | None:
    for candidate in reversed(made):
        if (
            candidate.category_id == report.category_id
            and candidate.authority_id == report.authority_id  # what its staff may name
            and candidate.is_public
            and candidate.state != ReportState.DUPLICATE
        ):
            return candidate
    return None


def _random_point(rng: random.Random, index: routing.RoutingIndex) -> tuple[float, float]:
    """A point in a district chosen at random, so that small central districts get reports too."""
    districts = [i for i, a in enumerate(index.authorities) if a.depth > 0]
    chosen = rng.choice(districts)
    min_x, min_y, max_x, max_y = index.geometries[chosen].bounds
    while True:
        lat, lon = round(rng.uniform(min_y, max_y), 6), round(rng.uniform(min_x, max_x), 6)
        if index.authorities[chosen] in index.covering(lat, lon):
            return lat, lon


def _answers(rng: random.Random, slug: str) -> dict[str, Any]:
    if slug == "waste-collection":
        return {"container": rng.choice(["general", "paper", "glass", "packaging", "organic"])}
    if slug == "pavement" and rng.random() < 0.7:
        return {"size": rng.choice(["small", "medium", "large"])}
    return {}
