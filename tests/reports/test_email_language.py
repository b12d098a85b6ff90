"""E-mails are written in the reader's language, whoever caused them: a subscriber's (their
account's choice, else the one they subscribed in) and the council's (the authority's)."""

from __future__ import annotations

from django.utils import translation

from reports import notifications, services
from reports.delivery.email import compose_email
from reports.models import Delivery, ReportState, SubscriptionKind
from tests import factories


def _verify(city, report, capture) -> None:
    with capture(execute=True):  # staff work in English: their language must not leak out
        services.report_transition(
            report_id=report.pk,
            to_state=ReportState.VERIFIED,
            actor=city.west_staff,
            public_note="Crew booked",
        )


def test_a_follower_reads_updates_in_the_language_they_subscribed_in(
    tiny_city, mailoutbox, django_capture_on_commit_callbacks
):
    report = factories.report(tiny_city.pothole, *tiny_city.WEST)
    with translation.override("ca"):
        follower = notifications.subscription_create(
            email="veina@example.org", kind=SubscriptionKind.REPORT, report=report
        )
    notifications.subscription_confirm(subscription_id=follower.pk)
    mailoutbox.clear()

    _verify(tiny_city, report, django_capture_on_commit_callbacks)

    sent = next(m for m in mailoutbox if m.to == ["veina@example.org"])
    assert sent.subject == f"Novetats: {report.title}"
    assert "Estat nou: Verificada" in sent.body
    assert "Atureu aquests correus amb un clic" in sent.body


def test_an_accounts_chosen_language_wins_over_the_one_subscribed_in(
    tiny_city, mailoutbox, django_capture_on_commit_callbacks
):
    reporter = factories.UserFactory.create(email="rep@example.org", language="es")
    with translation.override("ca"):
        report = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=reporter)
    mailoutbox.clear()

    _verify(tiny_city, report, django_capture_on_commit_callbacks)

    sent = next(m for m in mailoutbox if m.to == ["rep@example.org"])
    assert sent.subject == f"Novedades de su incidencia: {report.title}"
    assert "Estado nuevo: Verificada" in sent.body


def test_an_area_alert_is_in_the_subscribers_language(
    tiny_city, mailoutbox, django_capture_on_commit_callbacks
):
    with translation.override("es"):
        notifications.subscription_create(
            email="vecino@example.org",
            user=factories.UserFactory.create(email="vecino@example.org"),
            kind=SubscriptionKind.AUTHORITY,
            authority=tiny_city.west,
        )

    with django_capture_on_commit_callbacks(execute=True):
        factories.report(tiny_city.pothole, *tiny_city.WEST, title="Forat")

    sent = next(m for m in mailoutbox if m.to == ["vecino@example.org"])
    assert sent.subject == "Incidencia nueva cerca de usted: Forat"


def test_the_council_reads_the_report_in_its_own_language(tiny_city):
    tiny_city.west.language = "ca"
    tiny_city.west.save()
    tiny_city.pothole.name_ca = "Clots"
    tiny_city.pothole.save()
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, title="Forat")

    message = compose_email(Delivery(pk=1, report=report), "west@council.example.org")

    assert message.subject == f"[{report.ref}] Clots: Forat"
    assert "Una incidència nova de" in message.body
