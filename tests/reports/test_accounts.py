"""Accounts (django-allauth) and the pages of a signed-in citizen."""

from __future__ import annotations

import re
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.utils import timezone

from reports import notifications
from reports.models import Notification, NotificationStatus, Report, ReportState
from tests import factories


def test_sign_up_verifies_the_email_then_logs_in(
    db, client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # e-mails leave after commit
        response = client.post(
            "/accounts/signup/",
            {
                "email": "new@example.org",
                "password1": "a-long-pass-phrase-42",
                "password2": "a-long-pass-phrase-42",
            },
        )
    assert response.status_code == 302
    link = re.search(r"http://testserver(\S+)", mailoutbox[-1].body).group(1)

    client.post(link)
    client.post(
        "/accounts/login/", {"login": "new@example.org", "password": "a-long-pass-phrase-42"}
    )

    assert client.get("/my/reports/").status_code == 200


def test_account_pages_use_the_site_layout(db, client):
    for url in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
        html = client.get(url).content.decode()
        assert 'class="site-header"' in html, url


def test_my_reports_lists_my_reports_and_lets_me_edit_and_withdraw(tiny_city, client):
    me = factories.UserFactory.create()
    mine = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=me, title="My hole")
    factories.report(tiny_city.pothole, *tiny_city.WEST, title="Not mine")
    client.force_login(me)

    html = client.get("/my/reports/").content.decode()
    assert "My hole" in html and "Not mine" not in html

    client.post(f"/my/reports/{mine.ref}/edit/", {"title": "My deep hole", "description": "Deeper"})
    client.post(f"/my/reports/{mine.ref}/withdraw/")

    mine.refresh_from_db()
    assert mine.title == "My deep hole" and mine.state == ReportState.CLOSED


def test_someone_elses_report_cannot_be_edited_or_withdrawn(tiny_city, client):
    other = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Theirs")
    client.force_login(factories.UserFactory.create())

    assert client.get(f"/my/reports/{other.ref}/edit/").status_code == 404
    assert client.post(f"/my/reports/{other.ref}/withdraw/").status_code == 404
    assert Report.objects.get(pk=other.pk).state == ReportState.OPEN


def test_confirming_by_email_offers_an_account_with_the_proven_address(tiny_city, client):
    from reports import notifications

    report = factories.report(
        tiny_city.pothole, *tiny_city.WEST, reporter_name="Ana", reporter_email="ana@example.org"
    )
    token = notifications.report_confirm_token(report)
    page = client.get(f"/reports/confirm/{token}/").content.decode()
    assert "Keep an account" in page

    mismatch = client.post(
        f"/reports/confirm/{token}/account/",
        {"password1": "a-long-pass-phrase-42", "password2": "other"},
    )
    assert mismatch.status_code == 400
    client.post(
        f"/reports/confirm/{token}/account/",
        {"password1": "a-long-pass-phrase-42", "password2": "a-long-pass-phrase-42"},
    )

    report.refresh_from_db()
    assert report.reporter is not None and report.reporter.email == "ana@example.org"
    assert "My reports" in client.get("/my/reports/").content.decode()


def test_signed_in_updates_with_the_reporters_fixed_opinion_mark_it_fixed(tiny_city, client):
    me = factories.UserFactory.create()
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=me)
    client.force_login(me)

    response = client.post(
        f"/reports/{report.ref}/update/", {"text": "Patched", "opinion": "fixed"}
    )

    assert response.status_code == 302
    assert Report.objects.get(pk=report.pk).state == ReportState.FIXED


def test_anonymous_visitors_are_sent_to_log_in_to_post_an_update(tiny_city, client):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)

    response = client.post(f"/reports/{report.ref}/update/", {"text": "Hi"})

    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_with_smtp_down_sign_up_still_works_and_the_confirmation_goes_out_when_it_is_back(
    db, client, smtp, django_capture_on_commit_callbacks
):
    smtp.stop()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/signup/",
            {
                "email": "new@example.org",
                "password1": "a-long-pass-phrase-42",
                "password2": "a-long-pass-phrase-42",
            },
        )
    assert response.status_code == 302
    waiting = Notification.objects.get(kind=notifications.ACCOUNT_KIND)
    assert waiting.status == NotificationStatus.PENDING and waiting.to_email == "new@example.org"

    smtp.start()
    notifications.notifications_send_due(now=timezone.now() + timedelta(hours=1))

    [message] = smtp.handler.messages
    link = re.search(r"http://testserver(\S+)", message.get_payload()).group(1)
    client.post(link)
    assert EmailAddress.objects.get(email="new@example.org").verified
    sent = Notification.objects.get(pk=waiting.pk)
    assert sent.status == NotificationStatus.SENT and "/accounts/" not in sent.body
