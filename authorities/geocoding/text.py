"""Search text: one normalisation for what is stored and what is asked, and one score.

Both databases index the same normalised text (`normalise`), computed here in Python rather than
by PostgreSQL's `unaccent` or SQLite's tokenizer alone, so that the two agree and so that what
neither does is done once: Catalan's middle dot joins ("Paral·lel" is "parallel"), an apostrophe
separates ("l'Exposició" has the word "exposicio"), and ligatures and letters without a
decomposition fold (ß, ø, ł, æ, œ). The databases only fetch candidates; `score` orders them, so
the best-first order is the same on both.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz.distance import OSA

# Letters that Unicode does not decompose into a base letter and a mark.
_FOLD = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ħ": "h",
        "\u0131": "i",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
        "ð": "d",
    }
)
_JOINERS = str.maketrans({"·": None, "\u2027": None, "\u0387": None})  # Catalan's punt volat
_WORD = re.compile(r"[^\W_]+")
# Little words of street names that say little about which street is meant.
STOPWORDS = frozenset(
    (  # noqa: SIM905
        "d de del dels des di do da das dos du e el els en es i l la las le les lo los o of s sa "
        "the y"
    ).split()
)

# Kinds of street: so common that they find almost every name; a name is looked up by its other
# words when there are any (they still count in the score).
GENERIC = frozenset(
    (  # noqa: SIM905
        "carrer c calle cl avinguda av avda avenida passeig pg paseo placa pl plaza passatge ptge "
        "pasaje ronda travessera via rambla baixada bajada cami camino carretera ctra street st "
        "road rd avenue ave square"
    ).split()
)


def normalise(text: str) -> str:
    """Lower case, no accents, words separated by one space: "Plaça de l'Àngel" is
    "placa de l angel"."""
    folded = unicodedata.normalize("NFKD", text.translate(_JOINERS).casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c)).translate(_FOLD)
    return " ".join(_WORD.findall(plain))


def number_key(number: str) -> str:
    """A house number as matched: "12 B" is "12b", "12-14" is "12-14", "401" is "401"."""
    key = ""
    for word in normalise(number).split():
        if key and key[-1].isdigit() and word[0].isdigit():
            key += "-"
        key += word
    return key


@dataclass(frozen=True)
class Query:
    text: str  # normalised
    words: tuple[str, ...]  # what names are matched against
    numbers: tuple[str, ...]  # tokens starting with a digit: house numbers or postcodes

    @property
    def is_empty(self) -> bool:
        return not self.words and not self.numbers

    @property
    def key_words(self) -> tuple[str, ...]:
        """The words a text index is asked for: without stop words and kinds of street, unless
        nothing else was asked."""
        plain = tuple(w for w in self.words if w not in STOPWORDS)
        return tuple(w for w in plain if w not in GENERIC) or plain or self.words


def parse(text: str) -> Query:
    tokens = normalise(text).split()
    words = tuple(t for t in tokens if not t[0].isdigit())
    numbers = tuple(t for t in tokens if t[0].isdigit())
    return Query(" ".join(tokens), words, numbers)


def typos_allowed(word: str) -> int:
    """Edits (OSA: insert, delete, substitute, swap two neighbours) forgiven in a word of this
    length: none below 4 letters (too many short words are one edit apart), 1 up to 7, 2 beyond."""
    if len(word) < 4:
        return 0
    return 1 if len(word) < 8 else 2


def word_match(asked: str, word: str) -> float:
    """1 for the same word, 0.75-1 for a word it begins (the longer the prefix, the more), up to
    0.8 for a word within `typos_allowed` edits, else 0."""
    if asked == word:
        return 1.0
    if word.startswith(asked):
        return 0.75 + 0.25 * len(asked) / len(word)
    allowed = typos_allowed(asked)
    if allowed and OSA.distance(asked, word, score_cutoff=allowed) <= allowed:
        return 0.8 * OSA.normalized_similarity(asked, word)
    if allowed and len(word) > len(asked) and OSA.distance(asked, word[: len(asked)]) <= 1:
        return 0.6  # a prefix typed with a typo: "sagrda" for "sagrada"
    return 0.0


def score(words: tuple[str, ...], candidate: str) -> float:
    """How well a normalised name answers the asked words, 0 to 1.

    Each asked word counts by its length (a stop word by half): the best `word_match` among the
    name's words. A small part (0.15) is how much of the name the words cover, so that "mallorca"
    ranks "Carrer de Mallorca" above "Carrer de Mallorca de Dalt"."""
    names = candidate.split()
    if not words or not names:
        return 0.0
    total = matched = 0.0
    used: set[int] = set()
    for asked in words:
        weight = len(asked) * (0.5 if asked in STOPWORDS else 1.0)
        best, where = 0.0, -1
        for i, word in enumerate(names):
            value = word_match(asked, word)
            if value > best:
                best, where = value, i
        total += weight
        matched += weight * best
        if where >= 0:
            used.add(where)
    significant = [i for i, w in enumerate(names) if w not in STOPWORDS] or list(range(len(names)))
    coverage = sum(1 for i in significant if i in used) / len(significant)
    return 0.85 * matched / total + 0.15 * coverage
