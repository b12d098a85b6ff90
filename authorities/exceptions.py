from __future__ import annotations

from django.utils.translation import gettext as _

from config.errors import ApplicationError


class InvalidLocation(ApplicationError):
    code = "invalid_location"


class NoAuthorityHere(ApplicationError):
    code = "no_authority_here"
    status = 422

    def __init__(self, latitude: float, longitude: float) -> None:
        super().__init__(
            _("No authority covers this location (%(latitude).6f, %(longitude).6f).")
            % {"latitude": latitude, "longitude": longitude},
            extra={"latitude": latitude, "longitude": longitude},
        )


class CategoryNotOfferedHere(ApplicationError):
    code = "category_not_offered_here"
    status = 422


class UnknownCategory(ApplicationError):
    """A category slug no active category has, named by the parameter that gave it (`category`,
    `service_code`): a 400 on every surface, whether filing or filtering."""

    code = "unknown_category"

    def __init__(self, slug: str, name: str = "category") -> None:
        message = f"There is no category {slug!r}."
        super().__init__(message, extra={"fields": {name: [message]}})
        self.slug = slug


class InvalidBoundary(ApplicationError):
    code = "invalid_boundary"


class BoundaryImportError(ApplicationError):
    code = "boundary_import_error"


class InvalidAuthority(ApplicationError):
    code = "invalid_authority"


class GazetteerImportError(ApplicationError):
    code = "gazetteer_import_error"
