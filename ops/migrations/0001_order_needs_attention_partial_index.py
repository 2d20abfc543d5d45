"""A partial index for the "needs a human" list: orders flagged and not yet handled.

They are a handful among all orders, so without it the dashboard, the admin
index and the 5-minute detector each scan the whole order table. The index
lives on billing's table but is ops's concern (billing never filters on it),
hence raw SQL here rather than an Index on billing.Order. PostgreSQL and
SQLite both support partial indexes with this syntax.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE INDEX ops_order_needs_attention ON billing_order (updated_at) "
                "WHERE needs_attention AND handled_at IS NULL"
            ),
            reverse_sql="DROP INDEX ops_order_needs_attention",
        ),
    ]
