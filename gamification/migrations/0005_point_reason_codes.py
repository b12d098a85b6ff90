# A ledger entry's reason was text, in whatever language was active when it was written (the
# staff member's who marked the report, a worker's English), and everyone read it in that
# language. It becomes a code named in the reader's language (gamification.models.Reason), and
# a duplicate's reference gets its own column. Only three texts were ever written, in English or
# in the catalogue's Catalan and Spanish (none changed since the ledger was added): each becomes
# its code.

import re

from django.db import migrations, models

TEXTS = {
    "daily_limit": (
        "daily limit reached",
        "s'ha arribat al límit diari",
        "se ha alcanzado el límite diario",
    ),
    "spam": (
        "the report was marked as spam",
        "la incidència s'ha marcat com a contingut brossa",
        "la incidencia se ha marcado como contenido no deseado",
    ),
}
DUPLICATE = re.compile(
    r"^(?:the report duplicated|la incidència duplicava|la incidencia duplicaba) (\w+)$"
)


def to_codes(apps, schema_editor):
    PointEntry = apps.get_model("gamification", "PointEntry")
    for code, texts in TEXTS.items():
        PointEntry.objects.filter(reason__in=texts).update(reason=code)
    for entry in PointEntry.objects.exclude(reason__in=["", *TEXTS]).only("pk", "reason"):
        found = DUPLICATE.match(entry.reason)
        PointEntry.objects.filter(pk=entry.pk).update(
            reason="duplicate" if found else "", original_ref=found.group(1) if found else ""
        )


def to_texts(apps, schema_editor):
    PointEntry = apps.get_model("gamification", "PointEntry")
    for code, texts in TEXTS.items():
        PointEntry.objects.filter(reason=code).update(reason=texts[0])
    for entry in PointEntry.objects.filter(reason="duplicate").only("pk", "original_ref"):
        PointEntry.objects.filter(pk=entry.pk).update(
            reason=f"the report duplicated {entry.original_ref}"
        )


class Migration(migrations.Migration):

    dependencies = [
        ('gamification', '0004_verbose_names'),
    ]

    operations = [
        migrations.AddField(
            model_name='pointentry',
            name='original_ref',
            field=models.CharField(blank=True, max_length=12, verbose_name='report it duplicated'),
        ),
        migrations.RunPython(to_codes, to_texts),
        migrations.AlterField(
            model_name='pointentry',
            name='reason',
            field=models.CharField(blank=True, choices=[('daily_limit', 'daily limit reached'), ('spam', 'the report was marked as spam'), ('duplicate', 'the report duplicated another')], max_length=20, verbose_name='reason'),
        ),
    ]
