"""Account care: the data download, deleting an account, bans, anonymising, inactive accounts."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from reports import privacy, questionnaires, services
from reports.exceptions import AccountBanned
from reports.models import (
    AuditEntry,
    Delivery,
    DeliveryStatus,
    Notification,
    Report,
    ReportPhoto,
    ReportState,
    ReportStateChange,
    ReportUpdate,
    Subscription,
)
from tests import factories

PASSWORD = "pw-for-tests"


@pytest.fixture
def citizen(tiny_city):
    """Marta: a report with a photo and her name shown, an update, an alert."""
    marta = factories.UserFactory.create(email="marta@example.org", display_name="Marta")
    report = factories.report(tiny_city.pothole, *tiny_city.WEST, reporter=marta, show_name=True)
    ReportPhoto.objects.create(report=report, image=ContentFile(b"\x89PNG fake", name="p.png"))
    other = factories.report(tiny_city.pothole, *tiny_city.EAST)
    services.report_update_add(report_id=other.pk, author=marta, text="Same here.", show_name=True)
    Subscription.objects.create(email=marta.email, user=marta, kind="area", is_confirmed=True)
    return marta


def _log_in(client, user):
    assert client.login(email=user.email, password=PASSWORD)


# --- Download ------------------------------------------------------------------------------------


def test_the_json_download_holds_the_account_reports_updates_alerts_and_points(client, citizen):
    _log_in(client, citizen)

    response = client.get("/my/data/?format=json")

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["account"]["email"] == "marta@example.org"
    assert [r["title"] for r in data["reports"]] == ["Pothole"]
    assert [u["text"] for u in data["updates"]] == ["Same here."]
    assert data["alerts"][0]["email"] == "marta@example.org"
    assert data["points"]["balance"] == 0 and "ledger" in data["points"]
    assert len(data["photos"]) == 1


def test_the_zip_download_has_the_data_and_the_photos(client, citizen):
    _log_in(client, citizen)

    response = client.get("/my/data/?format=zip")

    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("data.json"))
    photo = data["photos"][0]["file"]
    assert archive.read(photo) == b"\x89PNG fake"


def test_the_data_page_needs_a_signed_in_person(client, db):
    assert client.get("/my/data/?format=json").status_code == 302
    assert client.get("/my/delete/").status_code == 302


# --- Deleting an account -------------------------------------------------------------------------


def test_deleting_needs_the_password_and_changes_nothing_without_it(client, citizen):
    _log_in(client, citizen)

    page = client.post("/my/delete/", {"password": "wrong", "understood": "on"})

    assert page.status_code == 200
    assert User.objects.get(pk=citizen.pk).email == "marta@example.org"


def test_a_deleted_account_is_erased_and_its_reports_stay_public_and_anonymous(
    client, citizen, tiny_city
):
    report = Report.objects.get(reporter=citizen)
    history = ReportStateChange.objects.filter(report=report).count()
    Notification.objects.create(to_email=citizen.email, kind="x", subject="s", body="b")
    _log_in(client, citizen)

    response = client.post("/my/delete/", {"password": PASSWORD, "understood": "on"})

    assert response.status_code == 302
    erased = User.objects.get(pk=citizen.pk)
    assert erased.email.endswith("@erased.invalid") and erased.erased_at is not None
    assert (erased.display_name, erased.is_active, erased.has_usable_password()) == (
        "",
        False,
        False,
    )
    report.refresh_from_db()
    assert report.reporter is None and report.reporter_email == "" and not report.show_name
    assert report.is_public
    assert ReportStateChange.objects.filter(report=report).count() == history
    update = ReportUpdate.objects.get(text="Same here.")
    assert update.author is None and update.author_name == "" and not update.show_name
    assert not Subscription.objects.filter(email="marta@example.org").exists()
    assert not Notification.objects.filter(to_email="marta@example.org").exists()
    assert not client.login(email="marta@example.org", password=PASSWORD)
    assert client.get("/my/reports/").status_code == 302  # logged out
    entry = AuditEntry.objects.get(action="account")
    assert entry.after["action"] == "delete" and "marta" not in entry.actor_email
    questionnaires.questionnaires_send_due(now=timezone.now() + timedelta(weeks=9))
    assert not report.questionnaires.exists()  # nobody to ask any more


def test_the_address_of_a_deleted_account_can_sign_up_again(citizen):
    privacy.account_delete(user_id=citizen.pk, actor=citizen)

    User.objects.create_user("marta@example.org", PASSWORD)


# --- Bans ----------------------------------------------------------------------------------------


def test_a_banned_account_cannot_log_in_or_file_and_its_deliveries_are_held(
    client, citizen, tiny_city
):
    admin = User.objects.create_superuser("root@example.org", PASSWORD)
    assert Delivery.objects.filter(report__reporter=citizen, status="pending").exists()

    privacy.account_ban(user_id=citizen.pk, actor=admin, reason="Abusive reports")

    assert not client.login(email=citizen.email, password=PASSWORD)
    assert set(
        Delivery.objects.filter(report__reporter=citizen).values_list("status", flat=True)
    ) == {DeliveryStatus.HELD}
    with pytest.raises(AccountBanned):
        factories.report(
            tiny_city.pothole, *tiny_city.WEST, reporter=User.objects.get(pk=citizen.pk)
        )
    with pytest.raises(AccountBanned):
        factories.report(
            tiny_city.pothole,
            *tiny_city.WEST,
            reporter_name="M",
            reporter_email="MARTA@example.org",
        )
    entry = AuditEntry.objects.get(action="account", actor=admin)
    assert entry.after == {"action": "ban", "reason": "Abusive reports", "deliveries_held": 1}


def test_lifting_a_ban_releases_the_held_deliveries(client, citizen):
    privacy.account_ban(user_id=citizen.pk, actor=None, reason="Mistake")

    privacy.account_unban(user_id=citizen.pk, actor=None)

    assert client.login(email=citizen.email, password=PASSWORD)
    assert Delivery.objects.get(report__reporter=citizen).status == DeliveryStatus.PENDING


def test_an_unconfirmed_report_of_a_banned_address_cannot_be_confirmed(client, tiny_city, citizen):
    report = factories.report(
        tiny_city.pothole, *tiny_city.WEST, reporter_name="M", reporter_email="marta@example.org"
    )
    privacy.account_ban(user_id=citizen.pk, actor=None, reason="Spam")
    from reports.notifications import report_confirm_token

    response = client.get(f"/reports/confirm/{report_confirm_token(report)}/")

    assert response.status_code == 403
    assert Report.objects.get(pk=report.pk).state == ReportState.UNCONFIRMED


def test_a_ban_needs_a_reason(citizen):
    with pytest.raises(Exception, match="why"):
        privacy.account_ban(user_id=citizen.pk, actor=None, reason="  ")


# --- The admin -----------------------------------------------------------------------------------


def test_admins_ban_with_a_reason_anonymise_and_remove_from_the_user_list(client, citizen):
    admin = User.objects.create_superuser("root@example.org", PASSWORD)
    _log_in(client, admin)
    url = "/admin/accounts/user/"
    chosen = {"_selected_action": [citizen.pk]}

    asked = client.post(url, {**chosen, "action": "ban"})
    assert asked.status_code == 200 and b"Reason for the ban" in asked.content
    client.post(url, {**chosen, "action": "ban", "reason": "Threats in updates"})
    assert User.objects.get(pk=citizen.pk).ban_reason == "Threats in updates"

    client.post(url, {**chosen, "action": "anonymise_everywhere"})
    assert not Report.objects.filter(reporter=citizen, show_name=True).exists()

    client.post(url, {**chosen, "action": "remove_account"})
    assert User.objects.get(pk=citizen.pk).erased_at is not None
    actions = [e.after["action"] for e in AuditEntry.objects.filter(action="account")]
    assert sorted(actions) == ["anonymise", "ban", "delete"]


# --- Inactive accounts ---------------------------------------------------------------------------


def test_an_inactive_account_is_warned_then_erased_and_staff_are_never_touched(
    tiny_city, citizen, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.FIXPOINT_ACCOUNT_INACTIVE_DAYS = 100
    settings.FIXPOINT_ACCOUNT_INACTIVE_WARNING_DAYS = 10
    start = timezone.now()
    citizens = User.objects.filter(memberships=None).count()  # Marta and the other reporter

    assert privacy.accounts_inactive_process(now=start + timedelta(days=80)) == (0, 0)
    with django_capture_on_commit_callbacks(execute=True):
        assert privacy.accounts_inactive_process(now=start + timedelta(days=95)) == (citizens, 0)
    assert ["marta@example.org"] in [m.to for m in mailoutbox]
    assert "log in before" in mailoutbox[0].body
    assert privacy.accounts_inactive_process(now=start + timedelta(days=101)) == (0, 0)
    assert privacy.accounts_inactive_process(now=start + timedelta(days=106)) == (0, citizens)

    assert User.objects.get(pk=citizen.pk).erased_at is not None
    assert User.objects.get(pk=tiny_city.west_staff.pk).erased_at is None


def test_using_the_account_after_the_warning_keeps_it(citizen, settings):
    settings.FIXPOINT_ACCOUNT_INACTIVE_DAYS = 100
    settings.FIXPOINT_ACCOUNT_INACTIVE_WARNING_DAYS = 10
    start = timezone.now()
    privacy.accounts_inactive_process(now=start + timedelta(days=95))
    User.objects.filter(pk=citizen.pk).update(last_login=start + timedelta(days=96))

    privacy.accounts_inactive_process(now=start + timedelta(days=106))

    assert User.objects.get(pk=citizen.pk).erased_at is None


def test_the_command_and_a_zero_setting(citizen, settings, capsys):
    settings.FIXPOINT_ACCOUNT_INACTIVE_DAYS = 0
    call_command("anonymise_inactive")
    assert "0 accounts warned, 0 inactive accounts anonymised" in capsys.readouterr().out


def test_the_privacy_page_states_the_configured_periods(client, db, settings):
    settings.FIXPOINT_ACCOUNT_INACTIVE_DAYS = 730
    settings.FIXPOINT_UNCONFIRMED_TTL_HOURS = 48

    page = client.get("/privacy/").content.decode()

    assert "730 days" in page and "48 hours" in page


def test_the_inactivity_warning_is_written_in_the_persons_language(citizen, settings):
    settings.FIXPOINT_ACCOUNT_INACTIVE_DAYS = 100
    settings.FIXPOINT_ACCOUNT_INACTIVE_WARNING_DAYS = 10
    User.objects.filter(pk=citizen.pk).update(language="es")

    privacy.accounts_inactive_process(now=timezone.now() + timedelta(days=95))

    warning = Notification.objects.get(kind="account_inactive", to_email=citizen.email)
    assert warning.subject == "Su cuenta de Fixpoint se anonimizará"
