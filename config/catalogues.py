"""The translation catalogues in locale/: compiled with polib (no GNU gettext needed) and checked.

`make compile-messages` runs `python -m config.catalogues compile`; tests/config/test_catalogues.py
calls `catalogue_problems()`, so a message left untranslated or fuzzy, or a .po edited without
compiling its .mo, fails the suite. The compiled .mo files are committed: `make run` and
`make test` need neither gettext nor polib to read them (Django's gettext reads .mo files).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import polib

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
TRANSLATED_LANGUAGES = ("ca", "es")
DOMAINS = ("django", "djangojs")
# printf-style placeholders, named or not: a translation must keep exactly the original's.
PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-+ #0]*\d*(?:\.\d+)?[sdfirx]")


def catalogue_paths(locale_dir: Path = LOCALE_DIR) -> Iterator[Path]:
    for language in TRANSLATED_LANGUAGES:
        for domain in DOMAINS:
            yield locale_dir / language / "LC_MESSAGES" / f"{domain}.po"


def compile_catalogues(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Write each .po's .mo beside it; returns the .mo files written."""
    written = []
    for po_path in catalogue_paths(locale_dir):
        mo_path = po_path.with_suffix(".mo")
        polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
        written.append(mo_path)
    return written


def normalise_catalogues(locale_dir: Path = LOCALE_DIR) -> None:
    """After extraction: drop the header line that changes on every run (POT-Creation-Date), so
    two people extracting the same strings write the same file and rebases stay quiet."""
    for po_path in catalogue_paths(locale_dir):
        po = polib.pofile(str(po_path), wrapwidth=0)
        po.metadata.pop("POT-Creation-Date", None)
        po.save()


def _key(entry: polib._BaseEntry) -> tuple[str | None, str]:
    return (entry.msgctxt, entry.msgid)


def _translation(entry: polib._BaseEntry) -> tuple[str, ...]:
    if entry.msgid_plural:
        return tuple(entry.msgstr_plural[n] for n in sorted(entry.msgstr_plural))
    return (entry.msgstr,)


def catalogue_problems(locale_dir: Path = LOCALE_DIR) -> list[str]:
    """Every untranslated or fuzzy message, and every .mo that does not match its .po."""
    problems: list[str] = []
    for po_path in catalogue_paths(locale_dir):
        name = po_path.relative_to(locale_dir)
        if not po_path.exists():
            problems.append(f"{name}: missing (run make messages)")
            continue
        po = polib.pofile(str(po_path))
        live = [e for e in po if not e.obsolete]
        for entry in live:
            if "fuzzy" in entry.flags:
                problems.append(f"{name}: fuzzy: {entry.msgid!r}")
            elif not all(_translation(entry)):
                problems.append(f"{name}: untranslated: {entry.msgid!r}")
            elif entry.msgid_plural and len(entry.msgstr_plural) != _plural_forms(po):
                # A form the header counts but the entry lacks falls back to English (Spanish
                # counts three: one, many, other; "10 reports" used the third).
                problems.append(
                    f"{name}: {len(entry.msgstr_plural)} plural forms, the header says "
                    f"{_plural_forms(po)}: {entry.msgid!r}"
                )
            elif _placeholders_differ(entry):
                problems.append(f"{name}: placeholders differ from the original: {entry.msgid!r}")
        problems.extend(_stale_mo(po_path, live, name))
    return problems


def _plural_forms(po: polib.POFile) -> int:
    found = re.search(r"nplurals\s*=\s*(\d+)", po.metadata.get("Plural-Forms", ""))
    return int(found.group(1)) if found else 2


def _placeholders_differ(entry: polib.POEntry) -> bool:
    wanted = set(PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
    if not entry.flags or not ({"python-format", "javascript-format"} & set(entry.flags)):
        return False
    return any(set(PLACEHOLDER.findall(text)) != wanted for text in _translation(entry))


def _stale_mo(po_path: Path, live: list[polib.POEntry], name: Path) -> list[str]:
    mo_path = po_path.with_suffix(".mo")
    if not mo_path.exists():
        return [f"{mo_path.name} of {name}: missing (run make compile-messages)"]
    wanted = {_key(e): _translation(e) for e in live if e.translated()}
    compiled = {_key(e): _translation(e) for e in polib.mofile(str(mo_path)) if e.msgid}
    if wanted != compiled:
        return [f"{name}: its .mo is out of date (run make compile-messages)"]
    return []


def main(argv: list[str]) -> int:
    if argv == ["compile"]:
        for path in compile_catalogues():
            print(f"compiled {path.relative_to(LOCALE_DIR.parent)}")
        return 0
    if argv == ["normalise"]:
        normalise_catalogues()
        return 0
    if argv == ["check"]:
        problems = catalogue_problems()
        print("\n".join(problems) or "The catalogues are complete and compiled.")
        return 1 if problems else 0
    print("usage: python -m config.catalogues compile|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
