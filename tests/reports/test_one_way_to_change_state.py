"""One way to change a report's state: reports.services.report_transition is the only code that
writes a history row (ReportStateChange) or sends report_state_changed. The filing, the lifecycle,
staff actions and responses, re-routing, Open311 updates and status sync all go through it, so
the lock, the permission and transition checks, the milestones, the audit row and the signal
cannot drift apart between them. An AST walk over the application code holds every module to it."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from reports import services
from reports.delivery import report_reroute
from reports.models import AuditAction, AuditEntry, ReportState, ReportStateChange
from reports.open311.services import authority_update_apply
from reports.staff import services as staff_services
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
APPS = ("config", "accounts", "authorities", "reports", "gamification")
THE_ONE = ("reports.services", "report_transition")
ROW_WRITES = {"create", "bulk_create", "get_or_create", "update_or_create"}


def _names(node: ast.expr) -> list[str]:
    """The dotted parts of ``a.b.c`` (a call's function), outermost last."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return parts[::-1]


def _records_a_change(call: ast.Call) -> bool:
    parts = _names(call.func)
    if not parts:
        return False
    if parts[-1] == "ReportStateChange":  # a row built (then saved or inserted)
        return True
    if parts[-1] in ROW_WRITES and ("ReportStateChange" in parts or "history" in parts):
        return True
    return parts[-1] in {"send", "send_robust"} and "report_state_changed" in parts[:-1]


def _raw_insert(node: ast.AST) -> bool:
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return False
    text = node.value.lower()
    return "insert" in text and "reports_reportstatechange" in text


def places_recording_changes(source: str, module: str) -> Iterator[tuple[str, str]]:
    """(module, outermost function) of each call in ``source`` that records a state change."""

    def walk(node: ast.AST, function: str) -> Iterator[tuple[str, str]]:
        for child in ast.iter_child_nodes(node):
            inner = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) and not function:
                inner = child.name
            if (isinstance(child, ast.Call) and _records_a_change(child)) or _raw_insert(child):
                yield module, function or "<module>"
            yield from walk(child, inner)

    yield from walk(ast.parse(source), "")


def _application_modules() -> Iterator[tuple[str, str]]:
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            yield path.read_text(), module.removesuffix(".__init__")


def test_only_report_transition_writes_history_rows_or_sends_the_signal() -> None:
    places = {
        place
        for source, module in _application_modules()
        for place in places_recording_changes(source, module)
    }

    assert places == {THE_ONE}


@pytest.mark.parametrize(
    "code",
    [
        "def f(r):\n    ReportStateChange.objects.create(report=r)",
        "def f(r):\n    models.ReportStateChange(report=r).save()",
        "def f(r):\n    r.history.create(to_state='open')",
        "def f(r):\n    ReportStateChange.objects.bulk_create([])",
        "def f(r, c):\n    report_state_changed.send(sender=None, report=r, change=c)",
        "def f(r, c):\n    signals.report_state_changed.send_robust(sender=None, report=r)",
        "def f(c):\n    c.execute('INSERT INTO reports_reportstatechange (id) VALUES (1)')",
    ],
)
def test_the_walk_catches_each_way_of_recording_a_change(code: str) -> None:
    assert list(places_recording_changes(code, "reports.elsewhere")) == [("reports.elsewhere", "f")]


def test_reading_history_and_listening_are_not_recording() -> None:
    code = (
        "def f(r):\n"
        "    ReportStateChange.objects.filter(report=r).first()\n"
        "    report_state_changed.connect(f)\n"
        "    r.history.all()\n"
    )
    assert list(places_recording_changes(code, "reports.elsewhere")) == []


# --- Every way in records through it: one history row, one audit row when staff act ----------


def _rows(report) -> list[tuple[str, str, str]]:
    return [
        (change.from_state, change.to_state, change.actor_kind)
        for change in ReportStateChange.objects.filter(report=report).order_by("id")
    ]


def _audits(report) -> list[str]:
    entries = AuditEntry.objects.filter(object_type="reports.Report", object_id=str(report.pk))
    return list(entries.order_by("id").values_list("action", flat=True))


@pytest.mark.django_db
def test_a_staff_response_is_one_history_row_and_one_edit_audit(tiny_city) -> None:
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    staff_services.report_note_add(
        report_id=report.pk, actor=tiny_city.west_staff, public_note="Booked for Monday"
    )

    assert _rows(report)[-1] == ("open", "open", "staff")
    assert _audits(report) == [AuditAction.EDIT]
    entry = AuditEntry.objects.get(action=AuditAction.EDIT)
    assert entry.after == {"public_note": "Booked for Monday", "internal_note": ""}


@pytest.mark.django_db
def test_a_staff_transition_and_a_spam_mark_are_audited_once_each(tiny_city) -> None:
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    services.report_transition(
        report_id=report.pk, to_state=ReportState.VERIFIED, actor=tiny_city.west_staff
    )
    staff_services.report_mark_spam(report_id=report.pk, actor=tiny_city.west_staff)

    assert _rows(report)[-2:] == [("open", "verified", "staff"), ("verified", "spam", "staff")]
    assert _audits(report) == [AuditAction.TRANSITION, AuditAction.SPAM]


@pytest.mark.django_db
def test_a_reroute_is_a_row_from_the_state_to_itself_audited_as_a_reroute(tiny_city) -> None:
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    report_reroute(
        report_id=report.pk,
        latitude=tiny_city.EAST[0],
        longitude=tiny_city.EAST[1],
        actor=tiny_city.west_staff,
    )

    assert _rows(report)[-1] == ("open", "open", "staff")
    assert _audits(report) == [AuditAction.REROUTE]


@pytest.mark.django_db
def test_an_open311_update_is_the_systems_change_and_is_not_audited(tiny_city) -> None:
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    change = authority_update_apply(
        report_id=report.pk, user=tiny_city.west_staff, to_state=ReportState.FIXED
    )

    assert (change.from_state, change.to_state, change.actor_kind) == ("open", "fixed", "system")
    assert change.actor is None
    assert _audits(report) == []
