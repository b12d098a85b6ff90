"""Text stored before config.text's rule (NFC, no control characters, titles and names on one
line) is cleaned like new text. Forward only: the original characters are not worth keeping, so
going back changes nothing."""

from django.db import migrations

from config.text import clean_stored_rows

FIELDS = {
    "Report": {
        "lines": ("title", "reporter_name"),
        "texts": ("description",),
        "values": ("extra",),
    },
    "ReportStateChange": {"texts": ("public_note", "internal_note")},
    "ReportUpdate": {"lines": ("author_name",), "texts": ("text",)},
    "Notification": {"lines": ("subject",), "texts": ("body", "last_error")},
    "Delivery": {"texts": ("last_error",)},
    "StatusPoll": {"texts": ("last_error",)},
    "ResponseTemplate": {"lines": ("title",), "texts": ("text",)},
    "AuditEntry": {"lines": ("object_repr",)},
}


def clean(apps, schema_editor):
    for model, fields in FIELDS.items():
        clean_stored_rows(apps.get_model("reports", model), **fields)


class Migration(migrations.Migration):
    dependencies = [("reports", "0012_report_fewer_indexes")]

    operations = [migrations.RunPython(clean, migrations.RunPython.noop, elidable=True)]
