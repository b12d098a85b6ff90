"""Text stored before config.text's rule (NFC, no control characters, titles and names on one
line) is cleaned like new text. Forward only: the original characters are not worth keeping, so
going back changes nothing."""

from django.db import migrations

from config.text import clean_stored_rows

FIELDS = {
    "Authority": {"lines": ("name", "phone")},
    "Category": {"lines": ("name", "group"), "texts": ("description",)},
    "CategoryQuestion": {"lines": ("label", "help_text"), "values": ("values",)},
    "Area": {"lines": ("name",)},
}


def clean(apps, schema_editor):
    for model, fields in FIELDS.items():
        clean_stored_rows(apps.get_model("authorities", model), **fields)


class Migration(migrations.Migration):
    dependencies = [("authorities", "0007_gazetteer_search_index")]

    operations = [migrations.RunPython(clean, migrations.RunPython.noop, elidable=True)]
