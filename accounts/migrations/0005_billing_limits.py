from django.db import migrations, models
from django.db.models.functions import Left, Length


def long_billing_names_shorten(apps, schema_editor):
    """The remembered billing name is a checkout convenience, not a document (each
    invoice keeps its own copy): one longer than the new limit is cut to it, so the
    column can shrink."""
    User = apps.get_model("accounts", "User")
    User.objects.annotate(n=Length("billing_name")).filter(n__gt=100).update(billing_name=Left("billing_name", 100))


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_api_tokens'),
    ]

    operations = [
        migrations.RunPython(long_billing_names_shorten, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='user',
            name='billing_address',
            field=models.TextField(blank=True, max_length=300),
        ),
        migrations.AlterField(
            model_name='user',
            name='billing_name',
            field=models.CharField(blank=True, max_length=100),
        ),
    ]
