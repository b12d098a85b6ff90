"""A resident switches the site to Catalan (or Spanish), files a report, reads the e-mail,
confirms and follows it, and meets no English sentence on the way."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import polib
import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from authorities import services as authority_services
from config.catalogues import LOCALE_DIR

from .conftest import switch_language

SAGRADA = (41.4036, 2.1744)
PLACEHOLDER = re.compile(r"%\([^)]+\)[sd]|%s|%d|<[^>]+>")

WORDS: dict[str, dict[str, Any]] = {
    "ca": {
        "category": "Categoria",
        "title": "Títol",
        "problem": "Quin és el problema?",
        "name": "El vostre nom",
        "email": "El vostre correu electrònic",
        "send": "Enviar la incidència",
        "check": "Gairebé fet: consulteu el correu",
        "confirmed": "La vostra incidència està confirmada",
        "typed": ("Vorera trencada davant del passatge", "La vorera té tres panots aixecats."),
    },
    "es": {
        "category": "Categoría",
        "title": "Título",
        "problem": "¿Cuál es el problema?",
        "name": "Su nombre",
        "email": "Su correo electrónico",
        "send": "Enviar la incidencia",
        "check": "Casi listo: revise su correo",
        "confirmed": "Su incidencia está confirmada",
        "typed": ("Acera rota delante del pasaje", "La acera tiene tres baldosas levantadas."),
    },
}


@cache
def english_sentences() -> tuple[str, ...]:
    """The English texts of the catalogues (two words or more, placeholders cut out) whose
    translation differs: finding one on a translated page means something was not translated."""
    found = set()
    for domain in ("django", "djangojs"):
        for entry in polib.pofile(str(LOCALE_DIR / "ca" / "LC_MESSAGES" / f"{domain}.po")):
            if entry.obsolete or entry.msgstr == entry.msgid:
                continue
            for piece in PLACEHOLDER.split(entry.msgid):
                piece = piece.strip(" .,:;()«»“”\n")
                if len(piece.split()) >= 2:
                    found.add(piece)
    return tuple(sorted(found))


def assert_no_english(text: str, where: str) -> None:
    english = [s for s in english_sentences() if s in text]
    assert english == [], f"English on {where}: {english}"


def _read(page: Page) -> str:
    page.wait_for_load_state("networkidle")
    return page.locator("body").inner_text()


@pytest.mark.parametrize("language", ["ca", "es"])
def test_a_resident_files_and_follows_a_report_in_their_language(
    page: Page, barcelona, live_server, language, screenshot
):
    words = WORDS[language]
    pavement = barcelona.pavement
    pavement.name_ca, pavement.group_ca = "Voreres i calçades", "Vies públiques"
    pavement.name_es, pavement.group_es = "Aceras y calzadas", "Vías públicas"
    authority_services.routing_object_save(obj=pavement)

    page.goto("/")
    switch_language(page, language)
    assert_no_english(_read(page), "the map")
    if language == "ca":
        screenshot(page, "map-catalan")

    page.goto(f"/reports/new/?latitude={SAGRADA[0]}&longitude={SAGRADA[1]}")
    page.get_by_label(words["category"]).select_option("pavement")
    assert_no_english(_read(page), "the filing form")
    title, description = words["typed"]
    page.get_by_label(words["title"]).fill(title)
    page.get_by_label(words["problem"]).fill(description)
    page.get_by_label(words["name"]).fill("Núria")
    page.get_by_label(words["email"]).fill("nuria@example.org")
    page.get_by_role("button", name=words["send"]).click()
    expect(page.get_by_role("heading", name=words["check"])).to_be_visible()
    assert_no_english(_read(page), "the check-your-e-mail page")

    message = mail.outbox[-1]
    assert_no_english(f"{message.subject}\n{message.body}", "the confirmation e-mail")
    link = re.search(r"https?://\S+/reports/confirm/\S+/", str(message.body))
    assert link, message.body
    page.goto(re.sub(r"^https?://[^/]+", live_server.url, link.group(0)))
    expect(page.get_by_role("heading", name=words["confirmed"])).to_be_visible()
    assert_no_english(_read(page), "the confirmation page")

    page.locator("#confirmed-report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator("html")).to_have_attribute("lang", language)
    assert_no_english(_read(page), "the report page")
