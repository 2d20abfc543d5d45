"""Every user gets a referral code; existing users are given theirs here.

The column is added empty, filled one user at a time (each its own random
code), and made unique and required in 0003, in its own transaction.
"""

from django.db import migrations, models

import accounts.models


def give_every_user_a_code(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    taken = set(User.objects.exclude(referral_code=None).values_list("referral_code", flat=True))
    for user in User.objects.filter(referral_code=None).only("pk").iterator():
        code = accounts.models.new_referral_code()
        while code in taken:
            code = accounts.models.new_referral_code()
        taken.add(code)
        User.objects.filter(pk=user.pk).update(referral_code=code)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="referral_code",
            field=models.CharField(editable=False, max_length=16, null=True),
        ),
        migrations.RunPython(give_every_user_a_code, migrations.RunPython.noop),
    ]
