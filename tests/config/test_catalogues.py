"""The Catalan and Spanish catalogues are complete, compiled and hold every marked string.

Pure Python (polib, ast, Django's template parser): runs without GNU gettext. When it fails after
you added or changed a string: `make messages`, translate the new entries in locale/ca and
locale/es, `make compile-messages` (docs/translating.md).
"""

from __future__ import annotations

import ast
import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.template import engines
from django.template.base import Node, TextNode
from django.templatetags.i18n import BlockTranslateNode, TranslateNode

from config.catalogues import LOCALE_DIR, catalogue_problems, compile_catalogues

ROOT = Path(__file__).resolve().parent.parent.parent
APPS = ("accounts", "authorities", "reports", "gamification", "config")
GETTEXT_NAMES = {
    "_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy",
    "npgettext", "npgettext_lazy", "gettext_noop",
}  # fmt: skip


def _catalogue(domain: str, language: str = "ca") -> set[tuple[str | None, str]]:
    po = polib.pofile(str(LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"))
    return {(e.msgctxt, e.msgid) for e in po if not e.obsolete}


def _template_files() -> Iterator[Path]:
    for folder in [ROOT / "templates", *(ROOT / app / "templates" for app in APPS)]:
        if folder.is_dir():
            yield from sorted(p for p in folder.rglob("*") if p.suffix in (".html", ".txt"))


def _nodes(path: Path) -> list[Node]:
    template = engines["django"].from_string(path.read_text())
    return list(template.template.nodelist.get_nodes_by_type(Node))  # type: ignore[attr-defined]


def _template_msgids(path: Path) -> Iterator[tuple[str | None, str]]:
    for node in _nodes(path):
        if isinstance(node, TranslateNode) and node.filter_expression.is_var is not False:
            var = node.filter_expression.var
            literal = getattr(var, "literal", None)
            if isinstance(literal, str):
                yield (_context(node.message_context), str(literal))
        elif isinstance(node, BlockTranslateNode):
            singular, _vars = node.render_token_list(node.singular)
            yield (_context(node.message_context), singular)


def _context(expression: object) -> str | None:
    return None if expression is None else str(expression.var)  # type: ignore[attr-defined]


def _python_msgids() -> Iterator[tuple[Path, tuple[str | None, str]]]:
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for call in ast.walk(ast.parse(path.read_text())):
                if isinstance(call, ast.Call) and _called_name(call) in GETTEXT_NAMES:
                    yield path, _call_msgid(call)


def _called_name(call: ast.Call) -> str:
    if isinstance(call.func, ast.Name):
        return call.func.id
    return call.func.attr if isinstance(call.func, ast.Attribute) else ""


def _call_msgid(call: ast.Call) -> tuple[str | None, str]:
    strings = [
        a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
    ]
    if _called_name(call).startswith(("pgettext", "npgettext")):
        return (strings[0], strings[1])
    return (None, strings[0] if strings else "")


def test_every_message_is_translated_into_catalan_and_spanish_and_compiled() -> None:
    assert catalogue_problems() == []


def test_a_missing_translation_a_fuzzy_one_a_changed_placeholder_and_a_stale_mo_are_reported(
    tmp_path: Path,
) -> None:
    copy = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, copy)
    po_path = copy / "ca" / "LC_MESSAGES" / "django.po"
    po = polib.pofile(str(po_path))
    formatted = next(e for e in po if "python-format" in e.flags and not e.msgid_plural)
    formatted.msgstr = "sense marcadors"
    plain = [e for e in po if not e.msgid_plural and "python-format" not in e.flags]
    plain[0].msgstr = ""
    plain[1].flags.append("fuzzy")
    po.save()

    problems = "\n".join(catalogue_problems(copy))

    assert f"untranslated: {plain[0].msgid!r}" in problems
    assert f"fuzzy: {plain[1].msgid!r}" in problems
    assert f"placeholders differ from the original: {formatted.msgid!r}" in problems
    assert "ca/LC_MESSAGES/django.po: its .mo is out of date" in problems
    compile_catalogues(copy)
    assert "out of date" not in "\n".join(catalogue_problems(copy))


@pytest.mark.parametrize("path", list(_template_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_translated_template_string_is_in_the_catalogues(path: Path) -> None:
    catalogue = _catalogue("django")
    missing = [msgid for msgid in _template_msgids(path) if msgid not in catalogue]
    assert missing == [], "run make messages and translate them"


def test_every_python_message_is_in_the_catalogues() -> None:
    catalogue = _catalogue("django")
    missing = [
        f"{path.relative_to(ROOT)}: {msgid[1]!r}"
        for path, msgid in _python_msgids()
        if msgid[1] and msgid not in catalogue
    ]
    assert missing == [], "run make messages and translate them"


def test_every_script_message_is_in_the_javascript_catalogue() -> None:
    catalogue = _catalogue("djangojs")
    called = re.compile(r"""\b(?:gettext|ngettext)\(\s*"((?:[^"\\]|\\.)*)\"""")
    missing = [
        f"{path.name}: {text!r}"
        for path in sorted((ROOT / "static" / "js").glob("*.js"))
        for text in called.findall(path.read_text())
        if (None, text) not in catalogue
    ]
    assert missing == [], "run make messages and translate them"


# Text a person reads that no translation can change: the brand, symbols, units.
UNTRANSLATABLE = re.compile(r"^(Fixpoint|CSV|Open311|API|GeoJSON|[^\w]*|\d+|km|m|h|min)$")
IDENTIFIER = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)+$")
READ_ATTRIBUTES = ("alt", "title", "placeholder", "aria-label", "aria-description")


class _Reader(HTMLParser):
    """The words of a template's literal text a person reads: text and readable attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self.handle_data(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            # A class name or other identifier ("map-page") is not read; words are.
            tokens = [t for t in data.split() if not IDENTIFIER.match(t)]
            self.words += re.findall(r"[^\W\d_]{2,}[\w'\u2019]*", " ".join(tokens))


def _unmarked_words(path: Path) -> list[str]:
    reader = _Reader()
    for node in _nodes(path):
        if isinstance(node, TextNode):
            reader.feed(node.s)
    reader.close()
    return [w for w in reader.words if not UNTRANSLATABLE.match(w)]


@pytest.mark.parametrize("path", list(_template_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_text_outside_a_translation_tag(path: Path) -> None:
    assert _unmarked_words(path) == []
