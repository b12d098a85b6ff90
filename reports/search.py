"""Free-text search over reports: accent- and case-insensitive, and in every language.

"gracia" finds Gràcia, "farola" and "bache" find the street-lamp and pothole categories and
the reports filed in them. Each word of the question must be found, by prefix, in one of:

- the report's title or description. PostgreSQL: the `fixpoint_search` text-search
  configuration (the `simple` parser and dictionary behind `unaccent`, created by migration
  0021) with a GIN index on exactly the expression `SearchVector` writes, queried by prefix
  (`word:*`). No stemmer: a report may be written in Catalan, Spanish or English, and one
  language's stemmer mangles the others' words; the prefix finds the plural ("farola" finds
  "farolas"). SQLite: `fixpoint_fold`, a function registered on each connection that folds
  text the way `normalise` does, compared with LIKE;
- its category's name, group or description in any of the three languages (a report titled
  "No funciona" is still found by "fanal");
- its neighbourhood's name.

Both databases fold the question with `authorities.geocoding.text.normalise`, so they agree.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Func, Q, QuerySet, TextField, Value
from django.db.models.functions import Coalesce, Concat

from authorities.geocoding.text import normalise
from authorities.models import Area, Category

from .models import Report

CONFIG = "fixpoint_search"
MAX_WORDS = 8
CATEGORY_TEXTS = ("name", "group", "description")


def search_words(text: str) -> list[str]:
    return normalise(text).split()[:MAX_WORDS]


def filter_by_text(reports: QuerySet[Report], text: str) -> QuerySet[Report]:
    """The reports every word of `text` is found in (see the module docstring)."""
    words = search_words(text)
    if not words:
        return reports
    categories = _category_words()
    areas = _area_words(words)
    if connection.vendor == "postgresql":
        reports = reports.annotate(search=SearchVector("title", "description", config=CONFIG))
    else:
        reports = reports.annotate(folded=_folded("title", "description"))
    for word in words:
        in_text = (
            Q(search=SearchQuery(f"{word}:*", config=CONFIG, search_type="raw"))
            if connection.vendor == "postgresql"
            else Q(folded__contains=word)
        )
        reports = reports.filter(
            in_text
            | Q(category_id__in=_matching(categories, word))
            | Q(area_id__in=_matching(areas, word))
        )
    return reports


def matching_categories(text: str) -> list[int]:
    """Ids of the active categories whose text (any language) has every word of `text`."""
    words = search_words(text)
    found = _category_words()
    return [pk for pk, tokens in found.items() if words and all(_has(tokens, w) for w in words)]


def _folded(*fields: str) -> Func:
    joined = Concat(
        *[part for f in fields for part in (Coalesce(f, Value("")), Value(" "))],
        output_field=TextField(),
    )
    return Func(joined, function="fixpoint_fold", output_field=TextField())


def _category_words() -> dict[int, list[str]]:
    """Every active category's words, in every language (a few dozen rows: one query)."""
    columns = [f"{f}_{code}" for f in CATEGORY_TEXTS for code, _ in settings.LANGUAGES]
    rows = Category.objects.filter(is_active=True).values_list("pk", *columns)
    return {row[0]: normalise(" ".join(v for v in row[1:] if v)).split() for row in rows}


def filter_by_name(rows: QuerySet[Any], text: str) -> QuerySet[Any]:
    """The rows whose `name` has every word of the text, ignoring accents and case."""
    words = search_words(text)
    if not words:
        return rows.none()
    rows = rows.annotate(folded=_folded_name())
    for word in words:
        rows = rows.filter(folded__icontains=word)
    return rows


def _folded_name() -> Func:
    if connection.vendor == "postgresql":
        return Func("name", function="unaccent", output_field=TextField())
    return _folded("name")


def _area_words(words: list[str]) -> dict[int, list[str]]:
    # Only the areas whose name holds one of the words: not every area's name is read.
    found = Q()
    for word in words:
        found |= Q(folded__icontains=word)
    rows = Area.objects.annotate(folded=_folded_name()).filter(found)
    return {pk: normalise(name).split() for pk, name in rows.values_list("pk", "name")}


def _matching(found: dict[int, list[str]], word: str) -> list[int]:
    return [pk for pk, tokens in found.items() if _has(tokens, word)]


def _has(tokens: list[str], word: str) -> bool:
    return any(token.startswith(word) for token in tokens)


def register_sqlite_fold(sender: Any, connection: Any, **kwargs: Any) -> None:
    """On each new SQLite connection: `fixpoint_fold(text)`, normalise() in SQL."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "fixpoint_fold", 1, lambda text: normalise(text or ""), deterministic=True
        )
