# Destination secrets (Open311 API keys, webhook secrets) are encrypted at rest from here on:
# the columns become text (a token is longer than its secret), every stored secret is encrypted
# with the first key of FIELD_ENCRYPTION_KEYS, then the field becomes config.encryption's.
# Reversible: going back decrypts them (with the keys configured then) into the old columns.

from django.db import migrations, models

import config.encryption

SECRETS = ("api_key", "webhook_secret")


def _convert(apps, convert):
    AuthorityCategory = apps.get_model("authorities", "AuthorityCategory")
    rows = AuthorityCategory.objects.order_by("pk").values_list("pk", *SECRETS)
    for pk, *values in rows.iterator():
        changed = {name: convert(value) for name, value in zip(SECRETS, values) if value}
        if changed:
            AuthorityCategory.objects.filter(pk=pk).update(**changed)


def encrypt_secrets(apps, schema_editor):
    _convert(apps, config.encryption.encrypt)


def decrypt_secrets(apps, schema_editor):
    _convert(apps, lambda token: config.encryption.decrypt(token, what="A destination secret"))


def _text_field(name, **options):
    return migrations.AlterField(
        model_name="authoritycategory", name=name, field=models.TextField(blank=True, **options)
    )


class Migration(migrations.Migration):

    dependencies = [
        ('authorities', '0004_staff_sla'),
    ]

    operations = [
        _text_field("api_key", verbose_name="Open311 API key"),
        _text_field("webhook_secret", verbose_name="webhook secret"),
        migrations.RunPython(encrypt_secrets, decrypt_secrets),
        migrations.AlterField(
            model_name='authoritycategory',
            name='api_key',
            field=config.encryption.EncryptedTextField(blank=True, max_length=200, verbose_name='Open311 API key'),
        ),
        migrations.AlterField(
            model_name='authoritycategory',
            name='webhook_secret',
            field=config.encryption.EncryptedTextField(blank=True, help_text='Shared with the receiver, which checks the HMAC-SHA256 signature.', max_length=200, verbose_name='webhook secret'),
        ),
    ]
