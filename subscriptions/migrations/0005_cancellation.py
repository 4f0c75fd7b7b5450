from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0004_promotion_codes"),
    ]

    operations = [
        migrations.AddField(
            model_name="companysubscription",
            name="cancellation_feedback",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="companysubscription",
            name="cancellation_comment",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="companysubscription",
            name="cancellation_reason",
            field=models.CharField(blank=True, max_length=40),
        ),
    ]
