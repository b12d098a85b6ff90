"""The one length limit for every text staff write: public responses, internal notes, moderation
reasons and response templates, whichever way they come in (the work page, a bulk action, the
admin, the REST API, Open311, a service called directly).

Services call note_clean; forms and serializers use NOTE_MAX_LENGTH so that their own error shows
next to the field first; ReportStateChange checks again as it is written, so a new way in cannot
forget the limit."""

from __future__ import annotations

from config.errors import ApplicationError

NOTE_MAX_LENGTH = 5000  # the same as a report's description


class NoteTooLong(ApplicationError):
    """An application error (not a ValidationError) so that every caller, which already turns
    application errors into its own answer, refuses it clearly; `fields` names the field as the
    API's validation errors do."""

    code = "invalid"
    status = 400

    def __init__(self, field: str) -> None:
        message = f"Keep the {field.replace('_', ' ')} to {NOTE_MAX_LENGTH:,} characters at most."
        super().__init__(message, extra={"fields": {field: [message]}})


def note_clean(text: str, *, field: str) -> str:
    """The text without surrounding blanks; NoteTooLong if it is still over the limit."""
    text = text.strip()
    if len(text) > NOTE_MAX_LENGTH:
        raise NoteTooLong(field)
    return text
