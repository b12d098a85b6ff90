"""Staff assign reports to colleagues and set their priority, within their own authority."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from reports import services
from reports.exceptions import NotAllowed
from reports.models import Priority, Report
from tests import factories


def test_staff_assign_a_report_to_a_colleague_and_take_it_back(tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    colleague = factories.staff(tiny_city.west)

    services.report_assign(report_id=report.pk, assignee=colleague, actor=tiny_city.west_staff)
    assert Report.objects.get(pk=report.pk).assignee == colleague

    services.report_assign(report_id=report.pk, assignee=None, actor=tiny_city.west_staff)
    assert Report.objects.get(pk=report.pk).assignee is None


def test_nobody_outside_the_authority_assigns_or_is_assigned(tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    with pytest.raises(NotAllowed):
        services.report_assign(
            report_id=report.pk, assignee=tiny_city.west_staff, actor=tiny_city.east_staff
        )
    with pytest.raises(NotAllowed, match="does not work for West"):
        services.report_assign(
            report_id=report.pk, assignee=tiny_city.east_staff, actor=tiny_city.west_staff
        )
    assert Report.objects.get(pk=report.pk).assignee is None


def test_staff_set_the_priority_and_bad_values_are_refused(tiny_city):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    services.report_set_priority(
        report_id=report.pk, priority=Priority.URGENT, actor=tiny_city.west_staff
    )
    with pytest.raises(ValidationError):
        services.report_set_priority(
            report_id=report.pk, priority="whenever", actor=tiny_city.west_staff
        )
    with pytest.raises(NotAllowed):
        services.report_set_priority(
            report_id=report.pk, priority=Priority.LOW, actor=factories.UserFactory.create()
        )

    assert Report.objects.get(pk=report.pk).priority == Priority.URGENT
