# Site messages move from their own JSON of translations to a column per language, like every
# other translated content (django-modeltranslation). Existing texts are kept: `text` (written in
# the default language, English) becomes `text_en`, `translations["ca"]` and `["es"]` the others.

from django.db import migrations, models

LANGUAGES = ("ca", "es")


def to_columns(apps, schema_editor):
    SiteMessage = apps.get_model("reports", "SiteMessage")
    for message in SiteMessage.objects.all():
        message.text_en = message.text
        for code in LANGUAGES:
            setattr(message, f"text_{code}", (message.translations or {}).get(code) or None)
        message.save(update_fields=["text_en", *(f"text_{code}" for code in LANGUAGES)])


def to_json(apps, schema_editor):
    SiteMessage = apps.get_model("reports", "SiteMessage")
    for message in SiteMessage.objects.all():
        message.text = message.text_en or message.text
        message.translations = {
            code: getattr(message, f"text_{code}")
            for code in LANGUAGES
            if getattr(message, f"text_{code}")
        }
        message.save(update_fields=["text", "translations"])


class Migration(migrations.Migration):

    dependencies = [
        ('reports', '0023_update_delivery'),
    ]

    operations = [
        migrations.AddField(
            model_name='sitemessage',
            name='text_ca',
            field=models.TextField(max_length=500, null=True, verbose_name='message'),
        ),
        migrations.AddField(
            model_name='sitemessage',
            name='text_en',
            field=models.TextField(max_length=500, null=True, verbose_name='message'),
        ),
        migrations.AddField(
            model_name='sitemessage',
            name='text_es',
            field=models.TextField(max_length=500, null=True, verbose_name='message'),
        ),
        migrations.RunPython(to_columns, to_json),
        migrations.RemoveField(
            model_name='sitemessage',
            name='translations',
        ),
        migrations.AlterField(
            model_name='sitemessage',
            name='text',
            field=models.TextField(max_length=500, verbose_name='message'),
        ),
    ]
