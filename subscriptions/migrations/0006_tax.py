from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0005_cancellation"),
    ]

    operations = [
        migrations.AddField(
            model_name="companysubscription",
            name="automatic_tax",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="companysubscription",
            name="customer_tax_status",
            field=models.CharField(blank=True, max_length=30),
        ),
    ]
