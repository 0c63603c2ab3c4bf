"""Endpoint secrets encrypted at rest (issue 14, defect 1).

The two secret columns become text (a Fernet token is longer than its secret), a
``user:password@`` typed into an endpoint's address moves into its username and
password fields, and every plain secret is encrypted with the newest key in
QB_SECRETS_KEY. The encryption is written out here with ``cryptography`` itself, frozen,
not through questionbank.encryption (a migration never calls application code); the
format is the same: ``fernet:`` + token. Reversing decrypts back to plain text.
"""

from urllib.parse import urlsplit, urlunsplit

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import migrations, models

import questionbank.models.endpoints

PREFIX = "fernet:"
SECRETS = ("password", "api_key")


def _keys():
    keys = tuple(getattr(settings, "QB_SECRETS_KEYS", ()) or ())
    if not keys:
        raise RuntimeError(
            "Endpoint passwords or API keys are stored, and they are now kept encrypted: "
            "set QB_SECRETS_KEY to a Fernet key before migrating (README.md, \u201cSecrets "
            "at rest\u201d)."
        )
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt_secrets(apps, schema_editor):
    ModelEndpoint = apps.get_model("questionbank", "ModelEndpoint")
    fernet = None
    for endpoint in ModelEndpoint.objects.order_by("pk"):
        changed = {}
        parts = urlsplit(endpoint.base_url.strip())
        if "@" in parts.netloc:
            userinfo, _, hostport = parts.netloc.rpartition("@")
            username, _, password = userinfo.partition(":")
            changed["base_url"] = urlunsplit(parts._replace(netloc=hostport))
            if username and not endpoint.username:
                changed["username"] = username
            if password and not endpoint.password:
                changed["password"] = password
        for name in SECRETS:
            value = changed.get(name, getattr(endpoint, name))
            if value and not value.startswith(PREFIX):
                fernet = fernet or _keys()
                changed[name] = PREFIX + fernet.encrypt(value.encode()).decode()
        if changed:
            ModelEndpoint.objects.filter(pk=endpoint.pk).update(**changed)


def decrypt_secrets(apps, schema_editor):
    ModelEndpoint = apps.get_model("questionbank", "ModelEndpoint")
    fernet = None
    for endpoint in ModelEndpoint.objects.order_by("pk"):
        changed = {}
        for name in SECRETS:
            value = getattr(endpoint, name)
            if value and value.startswith(PREFIX):
                fernet = fernet or _keys()
                changed[name] = fernet.decrypt(value[len(PREFIX):].encode()).decode()
        if changed:
            ModelEndpoint.objects.filter(pk=endpoint.pk).update(**changed)


class Migration(migrations.Migration):

    dependencies = [
        ("questionbank", "0017_import_category_answers"),
    ]

    # The data step runs while the columns are plain text fields, so that no field class
    # of the application touches the values; the last two steps change no column.
    operations = [
        migrations.AlterField(
            model_name="modelendpoint", name="password", field=models.TextField(blank=True),
        ),
        migrations.AlterField(
            model_name="modelendpoint", name="api_key", field=models.TextField(blank=True),
        ),
        migrations.RunPython(encrypt_secrets, decrypt_secrets),
        migrations.AlterField(
            model_name="modelendpoint",
            name="password",
            field=questionbank.models.endpoints.EncryptedSecretField(blank=True),
        ),
        migrations.AlterField(
            model_name="modelendpoint",
            name="api_key",
            field=questionbank.models.endpoints.EncryptedSecretField(blank=True),
        ),
    ]
