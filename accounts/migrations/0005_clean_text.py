"""Text stored before config.text's rule (NFC, no control characters, titles and names on one
line) is cleaned like new text. Forward only: the original characters are not worth keeping, so
going back changes nothing."""

from django.db import migrations

from config.text import clean_stored_rows

FIELDS = {
    "User": {"lines": ("display_name", "first_name", "last_name")},
    "ApiClient": {"lines": ("name",)},
}


def clean(apps, schema_editor):
    for model, fields in FIELDS.items():
        clean_stored_rows(apps.get_model("accounts", model), **fields)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_idempotency_key")]

    operations = [migrations.RunPython(clean, migrations.RunPython.noop, elidable=True)]
