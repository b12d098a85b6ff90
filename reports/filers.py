"""Who a report is filed as, and for whom: the one rule of the REST API and Open311.

A person (personal token or session) files as themself. A write API key always acts for an
account, which is accountable for what the key files (accounts.services.api_client_check_scope);
how it files depends on the key (docs/api.md, "Keys and limits"):

- a key that files as its account (an authority's own system, another Fixpoint delivering to
  this one): the report is the account's and is open at once; the `email`, `first_name` and
  `last_name` of the request are kept as the reporter's contact for staff, and nobody is e-mailed;
- a key that files for citizens (an app many people use): the request names the citizen, and the
  report is theirs as if they had used the site without signing in: they get the confirmation
  link, and once they follow it the report is public and sent, and they get its updates. The
  key's account is recorded as who filed it (the actor of the report's first history row).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from accounts.models import ApiClient, User
from config.errors import ApplicationError


class CitizenNotNamed(ApplicationError):
    code = "invalid"


@dataclass(frozen=True)
class Filer:
    reporter: User | None  # the account the report is filed as (it is open at once)
    name: str
    email: str  # without a reporter: who confirms the report and hears of it
    filed_by: User | None = None  # the key's account, when it files for a citizen

    @property
    def for_citizen(self) -> bool:
        return self.filed_by is not None


def filer_for(*, user: User, client: ApiClient | None, email: str = "", name: str = "") -> Filer:
    """Who a report sent by ``user`` (through ``client``, if a key) is filed as and for."""
    if client is None:
        return Filer(reporter=user, name="", email="")
    if not client.files_for_citizens:
        return Filer(reporter=user, name=name, email=email)
    if not email:
        raise CitizenNotNamed(
            _(
                "This API key files for citizens: give the citizen's email (and name), who "
                "confirms the report and gets its updates."
            )
        )
    return Filer(reporter=None, name=name, email=email, filed_by=user)
