from django.db import migrations, models

import accounts.models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_referral_code"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="referral_code",
            field=models.CharField(
                default=accounts.models.new_referral_code, editable=False, max_length=16, unique=True
            ),
        ),
    ]
