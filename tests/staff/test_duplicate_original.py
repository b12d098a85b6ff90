"""Which report may be named as a duplicate's original: one rule (reports.selectors.
duplicate_originals) for the work page, the API, the admin and report_transition, and one answer
for every report the rule leaves out, so a reference or id cannot be probed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from reports import services
from reports.models import Report, ReportState
from tests import factories


def _candidates(tiny_city: Any) -> dict[str, Report | None]:
    west, east, staff = tiny_city.WEST, tiny_city.EAST, tiny_city.west_staff
    spam = factories.report(tiny_city.pothole, *west, title="Spam")
    services.report_transition(report_id=spam.pk, to_state=ReportState.SPAM, actor=staff)
    copy = factories.report(tiny_city.pothole, *west, title="Copy")
    services.report_transition(
        report_id=copy.pk,
        to_state=ReportState.DUPLICATE,
        actor=staff,
        duplicate_of_id=factories.report(tiny_city.pothole, *west).pk,
    )
    return {
        "public, same authority": factories.report(tiny_city.pothole, *west),
        "public, another authority": factories.report(tiny_city.pothole, *east),
        "spam": spam,
        "unconfirmed": factories.report(
            tiny_city.pothole, *west, reporter_name="Ana", reporter_email="ana@example.org"
        ),
        "itself a duplicate": copy,
        "nonexistent": None,
    }


ACCEPTED = {"public, same authority"}
UNSEEN = {"public, another authority", "spam", "unconfirmed", "nonexistent"}


def _reference(report: Report | None) -> str:
    return report.ref if report is not None else "ZZZZZZZ"


def _api(client: Any, report: Report, reference: str) -> Any:
    return client.post(
        f"/api/v1/reports/{report.pk}/transition/",
        {"state": "duplicate", "duplicate_of": reference},
        content_type="application/json",
    )


def _page(client: Any, report: Report, reference: str) -> list[str]:
    response = client.post(
        reverse("staff:report", args=[report.pk]),
        {"action": "duplicate", "original": reference},
        follow=True,
    )
    return [str(m) for m in response.context["messages"]]


def _reopen(report: Report, tiny_city: Any) -> None:
    if Report.objects.get(pk=report.pk).state != ReportState.OPEN:
        services.report_transition(
            report_id=report.pk, to_state=ReportState.OPEN, actor=tiny_city.west_staff
        )


def test_the_work_page_and_the_api_accept_exactly_the_same_originals(client, tiny_city):
    candidates = _candidates(tiny_city)
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Report")
    client.force_login(tiny_city.west_staff)

    for name, original in candidates.items():
        by_api = _api(client, report, _reference(original)).status_code == 200
        _reopen(report, tiny_city)
        by_page = _page(client, report, _reference(original))[0].startswith("Marked as")
        _reopen(report, tiny_city)

        assert by_api == by_page == (name in ACCEPTED), name


def test_a_hidden_or_unseen_original_is_answered_exactly_like_a_nonexistent_one(client, tiny_city):
    candidates = _candidates(tiny_city)
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Report")
    client.force_login(tiny_city.west_staff)
    answers: dict[str, Any] = {}

    for name in sorted(UNSEEN):
        original = candidates[name]
        by_ref = _api(client, report, _reference(original))
        by_id = _api(client, report, str(original.pk if original else 999_999))
        page = _page(client, report, _reference(original))
        answers[name] = (by_ref.status_code, by_ref.json(), by_id.status_code, by_id.json(), page)
        assert by_ref.status_code == by_id.status_code == 409, name
        for text in (by_ref.json()["error"]["message"], by_id.json()["error"]["message"], *page):
            if original is not None:  # neither its id nor its reference comes back
                assert not re.search(rf"\b({original.pk}|{original.ref})\b", text), (name, text)

    assert len({repr(answer) for answer in answers.values()}) == 1, answers
    assert Report.objects.get(pk=report.pk).state == ReportState.OPEN


@pytest.mark.parametrize("name", sorted(UNSEEN))
def test_the_service_refuses_what_the_rule_leaves_out_with_the_same_message(tiny_city, name):
    from reports.exceptions import InvalidTransition

    original = _candidates(tiny_city)[name]
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Report")

    with pytest.raises(InvalidTransition) as caught:
        services.report_transition(
            report_id=report.pk,
            to_state=ReportState.DUPLICATE,
            actor=tiny_city.west_staff,
            duplicate_of_id=original.pk if original else 999_999,
        )

    assert caught.value.message == "There is no public report by that reference you can see."
