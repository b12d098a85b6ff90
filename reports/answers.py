"""Checking answers to a category's extra questions (Open311 attribute datatypes)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from authorities.models import CategoryQuestion, QuestionDatatype

D = QuestionDatatype


def clean_answers(questions: Iterable[CategoryQuestion], answers: dict[str, Any]) -> dict[str, Any]:
    """Return the answers normalised, or raise one ValidationError naming every bad answer."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    known = set()
    for question in questions:
        known.add(question.code)
        value = answers.get(question.code)
        if value in (None, "", []):
            if question.required:
                errors[question.code] = _("%(question)s: an answer is required.") % {
                    "question": question.label
                }
            continue
        try:
            cleaned[question.code] = _clean(question, value)
        except ValueError as exc:
            # The question, then what is wrong with its answer ("Depth: expected a number.").
            errors[question.code] = _("%(question)s: %(problem)s") % {
                "question": question.label,
                "problem": exc,
            }
    for code in set(answers) - known:
        errors[code] = _("%(code)s is not a question of this category.") % {"code": repr(code)}
    if errors:
        raise ValidationError({"extra": [ValidationError(m, code=c) for c, m in errors.items()]})
    return cleaned


def _clean(question: CategoryQuestion, value: Any) -> Any:
    if question.datatype == D.NUMBER:
        return _number(value)
    if question.datatype == D.DATETIME:
        parsed = parse_datetime(str(value))
        if parsed is None:
            raise ValueError(
                _("expected a date and time like %(example)s.")
                % {"example": "2026-05-01T10:30:00+02:00"}
            )
        return parsed.isoformat()
    if question.is_list:
        return _choices(question, value)
    text = str(value).strip()
    limit = 200 if question.datatype == D.STRING else 5000
    if len(text) > limit:
        raise ValueError(_("at most %(limit)d characters.") % {"limit": limit})
    return text


def _number(value: Any) -> float | int:
    if isinstance(value, bool):  # JSON true is no number, though Python counts it as 1
        raise ValueError(_("expected a number."))
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(_("expected a number.")) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(_("expected a finite number."))
    return int(number) if number.is_integer() else number


def _choices(question: CategoryQuestion, value: Any) -> str | list[str]:
    keys = {str(v.get("key")) for v in question.values if isinstance(v, dict)}
    chosen = [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
    unknown = [c for c in chosen if c not in keys]
    if unknown:
        raise ValueError(
            _("%(given)s is not one of %(allowed)s.")
            % {"given": ", ".join(unknown), "allowed": ", ".join(sorted(keys))}
        )
    if question.datatype == D.SINGLEVALUELIST:
        if len(chosen) != 1:
            raise ValueError(_("choose exactly one."))
        return chosen[0]
    return chosen
