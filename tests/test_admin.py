"""Every model is in the admin with working list, search and change pages."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from reports.models import Report, ReportState
from tests import factories


@pytest.fixture
def admin_client(client, tiny_city):
    client.force_login(factories.UserFactory.create(is_staff=True, is_superuser=True))
    factories.report(tiny_city.pothole, *tiny_city.WEST)
    return client


def test_every_model_is_registered_with_list_search_and_change_pages(admin_client):
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert admin_client.get(changelist).status_code == 200, changelist
        if model_admin.search_fields:
            assert admin_client.get(changelist, {"q": "x"}).status_code == 200, changelist
        obj = model._default_manager.first()
        if obj is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            assert admin_client.get(change).status_code == 200, change


def test_admin_changes_state_through_the_lifecycle_and_records_it(admin_client, tiny_city):
    report = Report.objects.get()
    url = reverse("admin:reports_report_change", args=[report.pk])

    response = admin_client.post(
        url,
        {"_transition": "1", "to_state": "verified", "public_note": "Seen it", "internal_note": ""},
        follow=True,
    )

    assert "Moved to Verified." in response.content.decode()  # the state's name, translated
    assert Report.objects.get().state == ReportState.VERIFIED
    assert report.history.last().public_note == "Seen it"


def test_admin_shows_an_illegal_move_as_an_error_and_changes_nothing(admin_client):
    report = Report.objects.get()
    url = reverse("admin:reports_report_change", args=[report.pk])

    response = admin_client.post(
        url, {"_transition": "1", "to_state": "closed_forever"}, follow=True
    )
    response = admin_client.post(url, {"_transition": "1", "to_state": "unconfirmed"}, follow=True)

    assert "cannot go from “Open” to “Unconfirmed”" in response.content.decode()
    assert Report.objects.get().state == ReportState.OPEN


def test_admin_refuses_a_broken_boundary_with_the_reason(admin_client, tiny_city):
    url = reverse("admin:authorities_authority_change", args=[tiny_city.west.pk])
    data = {
        "name": "West",
        "slug": "west",
        "kind": "district",
        "parent": tiny_city.city.pk,
        "boundary": '{"type": "Point", "coordinates": [1, 10]}',
        "is_active": "on",
        "handled-TOTAL_FORMS": "0",
        "handled-INITIAL_FORMS": "0",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "not a Polygon or MultiPolygon" in response.content.decode()


def test_the_admins_own_labels_actions_and_messages_are_in_the_readers_language(admin_client):
    index = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="ca").content.decode()
    deliveries = admin_client.get(
        reverse("admin:reports_delivery_changelist"), HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()
    report = Report.objects.get()
    moved = admin_client.post(
        reverse("admin:reports_report_change", args=[report.pk]),
        {"_transition": "1", "to_state": "verified", "public_note": "", "internal_note": ""},
        HTTP_ACCEPT_LANGUAGE="ca",
        follow=True,
    ).content.decode()

    assert "Administracions i encaminament" in index and "Gamificació" in index
    assert "Reenviar ahora los envíos seleccionados" in deliveries
    assert "Ha passat a l&#x27;estat «Verificada»." in moved
