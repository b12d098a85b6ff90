"""Staff memberships edited in the admin: the row edited is the row saved, and members become
staff whichever admin page added them."""

from __future__ import annotations

import pytest
from django.test import Client

from authorities.models import StaffMembership, StaffRole
from tests import factories


@pytest.fixture
def admin_client(client: Client, tiny_city) -> Client:
    client.force_login(factories.UserFactory.create(is_staff=True, is_superuser=True))
    return client


def test_moving_a_membership_to_another_authority_moves_it(admin_client, tiny_city):
    person = factories.UserFactory.create()
    membership = StaffMembership.objects.create(
        user=person, authority=tiny_city.west, role=StaffRole.INSPECTOR
    )

    response = admin_client.post(
        f"/admin/authorities/staffmembership/{membership.pk}/change/",
        {"user": person.pk, "authority": tiny_city.east.pk, "role": StaffRole.VIEWER},
    )

    assert response.status_code == 302
    assert list(StaffMembership.objects.filter(user=person).values_list("pk", "authority")) == [
        (membership.pk, tiny_city.east.pk)
    ]


def test_a_membership_added_in_the_admin_opens_its_own_page_and_makes_the_person_staff(
    admin_client, tiny_city
):
    person = factories.UserFactory.create()

    response = admin_client.post(
        "/admin/authorities/staffmembership/add/",
        {"user": person.pk, "authority": tiny_city.west.pk, "role": StaffRole.INSPECTOR,
         "_continue": "1"},
    )  # fmt: skip

    membership = StaffMembership.objects.get(user=person)
    assert response["Location"].endswith(f"/staffmembership/{membership.pk}/change/")
    person.refresh_from_db()
    assert person.is_staff


def test_a_member_added_on_the_authority_page_becomes_staff(admin_client, tiny_city):
    person = factories.UserFactory.create()
    page = f"/admin/authorities/authority/{tiny_city.east.pk}/change/"
    form = admin_client.get(page).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, dict)}
    data |= {"boundary": form["boundary"].value() or "", "parent": tiny_city.city.pk}
    for inline in admin_client.get(page).context["inline_admin_formsets"]:
        management = inline.formset.management_form
        prefix = inline.formset.prefix
        data |= {f"{prefix}-{k}": v for k, v in management.initial.items()}
        for i, existing in enumerate(inline.formset.forms):
            data |= {f"{prefix}-{i}-{k}": v for k, v in existing.initial.items() if v is not None}
            data[f"{prefix}-{i}-id"] = existing.instance.pk
    members = next(
        f.formset for f in admin_client.get(page).context["inline_admin_formsets"]
        if f.formset.model is StaffMembership
    )  # fmt: skip
    n = members.total_form_count()
    data |= {f"{members.prefix}-TOTAL_FORMS": n + 1, f"{members.prefix}-{n}-user": person.pk,
             f"{members.prefix}-{n}-role": StaffRole.VIEWER}  # fmt: skip

    response = admin_client.post(page, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    person.refresh_from_db()
    assert person.is_staff
    assert StaffMembership.objects.get(user=person).authority == tiny_city.east
