"""Every staff action leaves an audit row; nothing in the application edits or deletes one."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reports import services
from reports.audit import audit_record
from reports.models import AuditEntry, Priority
from tests import factories


def test_staff_transitions_assignments_and_priorities_are_audited_with_before_and_after(
    tiny_city,
):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    staff = tiny_city.west_staff

    services.report_transition(
        report_id=report.pk, to_state="verified", actor=staff, internal_note="seen"
    )
    services.report_assign(report_id=report.pk, assignee=staff, actor=staff)
    services.report_set_priority(report_id=report.pk, priority=Priority.HIGH, actor=staff)

    rows = list(AuditEntry.objects.order_by("id"))
    assert [r.action for r in rows] == ["transition", "assignment", "priority"]
    assert all(r.actor == staff and r.authority == tiny_city.west for r in rows)
    assert rows[0].before == {"state": "open"}
    assert rows[0].after["state"] == "verified"
    assert rows[0].after["internal_note"] == "seen"
    assert (rows[1].before, rows[1].after) == ({"assignee": None}, {"assignee": staff.email})
    assert (rows[2].before, rows[2].after) == ({"priority": "normal"}, {"priority": "high"})
    assert rows[0].object_type == "reports.Report" and rows[0].object_id == str(report.pk)


def test_citizens_and_the_system_are_not_audited_as_staff(tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    services.report_transition(report_id=report.pk, to_state="verified", actor=None)

    assert not AuditEntry.objects.exists()


def test_staff_log_ins_are_audited_with_the_address(client, tiny_city):
    citizen = factories.UserFactory.create()

    client.force_login(tiny_city.west_staff)
    client.force_login(citizen)

    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor) == ("login", tiny_city.west_staff)


def test_audit_rows_cannot_be_changed_or_deleted(tiny_city):
    entry = audit_record(actor=tiny_city.west_staff, action="export", authority=tiny_city.west)

    entry.action = "login"
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="login")
    with pytest.raises(TypeError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get().action == "export"


def test_nobody_edits_or_deletes_audit_rows_in_the_admin_not_even_a_superuser(client, tiny_city):
    entry = audit_record(actor=tiny_city.west_staff, action="export", authority=tiny_city.west)
    boss = factories.UserFactory.create(is_superuser=True, is_staff=True)
    client.force_login(boss)
    change = reverse("admin:reports_auditentry_change", args=[entry.pk])

    page = client.get(change)
    client.post(change, {"action": "login"})
    deleted = client.post(
        reverse("admin:reports_auditentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    client.post(
        reverse("admin:reports_auditentry_changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )

    assert page.status_code == 200 and 'name="action"' not in page.content.decode()
    assert deleted.status_code == 403
    assert AuditEntry.objects.get(pk=entry.pk).action == "export"
