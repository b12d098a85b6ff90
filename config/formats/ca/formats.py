"""Catalan: Django's formats ("6 d'abril de 2026 a les 9:05", "06/04/2026", "12.345,5"); the
month's preposition comes from config.formats.ALT_MONTHS' translations."""

from django.conf.locale.ca.formats import *  # noqa: F403
