import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    # Another migration 0004 may land in parallel; the merge re-points this one after it.
    dependencies = [("companies", "0004_passwordless_users_to_invitations")]

    operations = [
        migrations.AddField(
            model_name="company",
            name="onboarding_leased_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="company",
            name="onboarding_requeues",
            field=models.PositiveIntegerField(default=0),
        ),
    ]
