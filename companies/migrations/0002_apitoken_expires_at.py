import datetime

from django.db import migrations, models
from django.utils import timezone


def expire_existing_tokens(apps, schema_editor):
    """Tokens made before expiry existed get the default lifetime, counted from now."""
    ApiToken = apps.get_model("companies", "ApiToken")
    ApiToken.objects.filter(expires_at__isnull=True).update(expires_at=timezone.now() + datetime.timedelta(days=90))


class Migration(migrations.Migration):
    dependencies = [("companies", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(expire_existing_tokens, migrations.RunPython.noop),
    ]
