"""Text stored before config.text's rule (NFC, no control characters, titles and names on one
line) is cleaned like new text. Forward only: the original characters are not worth keeping, so
going back changes nothing."""

from django.db import migrations

from config.text import clean_stored_rows

FIELDS = {
    "Player": {"lines": ("board_name",)},
    "PointEntry": {"lines": ("reason",)},
    "BadgeAward": {"lines": ("name",)},
    "Challenge": {"lines": ("title", "badge_name"), "texts": ("description",)},
    "Reward": {"lines": ("title", "sponsor"), "texts": ("description",)},
}


def clean(apps, schema_editor):
    for model, fields in FIELDS.items():
        clean_stored_rows(apps.get_model("gamification", model), **fields)


class Migration(migrations.Migration):
    dependencies = [("gamification", "0001_initial")]

    operations = [migrations.RunPython(clean, migrations.RunPython.noop, elidable=True)]
