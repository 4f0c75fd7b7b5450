import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    operations = [
        migrations.RemoveIndex(model_name="notification", name="notification_owed_idx"),
        migrations.AddField(
            model_name="notification",
            name="leased_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="notification",
            name="requeues",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(fields=["sent_at", "claimed_at", "leased_at"], name="notification_lease_idx"),
        ),
    ]
