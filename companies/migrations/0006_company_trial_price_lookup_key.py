from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("companies", "0005_onboarding_lease")]

    operations = [
        migrations.AddField(
            model_name="company",
            name="trial_price_lookup_key",
            field=models.CharField(blank=True, max_length=100),
        ),
    ]
