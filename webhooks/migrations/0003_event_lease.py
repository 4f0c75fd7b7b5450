import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0002_notifications_move_to_outbox")]

    operations = [
        migrations.RemoveIndex(model_name="webhookevent", name="webhook_pending_idx"),
        migrations.AddField(
            model_name="webhookevent",
            name="leased_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="webhookevent",
            name="requeues",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddIndex(
            model_name="webhookevent",
            index=models.Index(fields=["state", "leased_at"], name="webhook_lease_idx"),
        ),
    ]
