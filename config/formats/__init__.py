"""Fixpoint's date and number formats per language (settings.FORMAT_MODULE_PATH), where Django's
own do not suit a Barcelona site; anything not set here is Django's format for the language.

Templates and e-mails never write a literal format for people: `|date` alone (DATE_FORMAT),
`|date:"DATETIME_FORMAT"`, `"SHORT_DATETIME_FORMAT"` or `"MONTH_DAY_FORMAT"` read these.
Machine text (CSV, the API, Open311, `<time datetime>`, `<input type=date>`) stays ISO 8601."""

from django.utils.translation import pgettext_lazy

# Catalan puts a month after a day with its preposition, elided before a vowel ("6 de maig",
# "6 d'abril"); Django's Catalan format `j E \d\e Y` reads the month from this context, whose
# Catalan in Django's own catalogue lacks the preposition. Marked here so our catalogues carry it.
ALT_MONTHS = (
    pgettext_lazy("alt. month", "January"),
    pgettext_lazy("alt. month", "February"),
    pgettext_lazy("alt. month", "March"),
    pgettext_lazy("alt. month", "April"),
    pgettext_lazy("alt. month", "May"),
    pgettext_lazy("alt. month", "June"),
    pgettext_lazy("alt. month", "July"),
    pgettext_lazy("alt. month", "August"),
    pgettext_lazy("alt. month", "September"),
    pgettext_lazy("alt. month", "October"),
    pgettext_lazy("alt. month", "November"),
    pgettext_lazy("alt. month", "December"),
)
