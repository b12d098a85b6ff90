"""Spanish: Django's formats ("6 de abril de 2026 a las 09:05", "06/04/2026", "12 345,5")."""

from django.conf.locale.es.formats import *  # noqa: F403
