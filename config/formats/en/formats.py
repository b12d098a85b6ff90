"""English as read in Barcelona: day before month, the 24-hour clock, weeks from Monday
(British English's formats, not Django's American default)."""

from django.conf.locale.en_GB.formats import *  # noqa: F403

DATE_FORMAT = "j M Y"  # 6 Apr 2026
TIME_FORMAT = "H:i"  # 09:05
DATETIME_FORMAT = "j M Y, H:i"  # 6 Apr 2026, 09:05
MONTH_DAY_FORMAT = "j M"  # 6 Apr
SHORT_DATETIME_FORMAT = "d/m/Y H:i"  # 06/04/2026 09:05
