from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from accounts.models import User
from authorities.models import Authority, AuthorityCategory, StaffMembership
from reports.models import Report, ReportState, ReportStateChange


@pytest.mark.django_db
def test_load_demo_builds_barcelona_and_a_second_run_changes_nothing():
    out = StringIO()
    call_command("load_demo", stdout=out)
    counts = (
        Authority.objects.count(),
        User.objects.count(),
        Report.objects.count(),
        ReportStateChange.objects.count(),
        AuthorityCategory.objects.count(),
    )

    call_command("load_demo", stdout=StringIO())

    assert (
        Authority.objects.count(),
        User.objects.count(),
        Report.objects.count(),
        ReportStateChange.objects.count(),
        AuthorityCategory.objects.count(),
    ) == counts
    assert Authority.objects.filter(parent__slug="barcelona").count() == 10
    assert Report.objects.count() == 300
    states = dict(Report.objects.values_list("state").annotate(n=Count("id")))
    assert set(states) == set(ReportState.values)
    # every district has staff and receives reports; each report has a consistent history
    assert StaffMembership.objects.values("authority").distinct().count() == 11
    assert Report.objects.values("authority").distinct().count() == 11
    for report in Report.objects.prefetch_related("history")[:300]:
        history = list(report.history.all())
        assert history[0].from_state == ""
        assert history[-1].to_state == report.state
        times = [c.created_at for c in history]
        assert times == sorted(times) and times[0] == report.created_at
    assert "admin@demo.fixpoint.test" in out.getvalue()


@pytest.mark.django_db
def test_demo_citizens_can_log_in_on_the_site(client):
    call_command("load_demo", "--reports", "5", stdout=StringIO())

    response = client.post(
        "/accounts/login/", {"login": "marta@demo.fixpoint.test", "password": "fixpoint-demo"}
    )

    assert response.status_code == 302 and response.url == "/my/reports/"


@pytest.mark.django_db
def test_the_demos_categories_questions_and_responses_read_in_three_languages():
    from authorities.models import Category, CategoryQuestion
    from reports.models import ResponseTemplate

    call_command("load_demo", "--reports", "5", stdout=StringIO())

    checked = [
        *((c, ("name", "group")) for c in Category.objects.all()),
        *((q, ("label",)) for q in CategoryQuestion.objects.all()),
        *((t, ("title", "text")) for t in ResponseTemplate.objects.all()),
    ]
    assert len(checked) > 10
    for obj, fields in checked:
        for field in fields:
            english = getattr(obj, f"{field}_en")
            for code in ("ca", "es"):
                translated = getattr(obj, f"{field}_{code}")
                assert translated and translated != english, (obj, field, code)
