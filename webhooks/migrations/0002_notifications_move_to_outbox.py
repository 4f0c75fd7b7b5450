from django.db import migrations


def copy_to_outbox(apps, schema_editor):
    """Each owed or sent e-mail keeps its state in the outbox, keyed by the event it was about."""
    Old = apps.get_model("webhooks", "Notification")
    New = apps.get_model("notifications", "Notification")
    New.objects.bulk_create(
        [
            New(
                subject=f"event:{old.event.stripe_id}",
                kind=old.kind,
                company_id=old.company_id,
                created_at=old.created_at,
                sent_at=old.sent_at,
                attempts=1 if old.sent_at else 0,
            )
            for old in Old.objects.select_related("event").iterator()
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(copy_to_outbox, migrations.RunPython.noop),
        migrations.DeleteModel(name="Notification"),
    ]
