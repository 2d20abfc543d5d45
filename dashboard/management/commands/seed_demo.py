from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from billing.models import HostingPlan
from dashboard.demo import DEMO_PLAN, demo_history_create, demo_history_possible

DEMO_PLANS = [
    # slug, name, paise a month excl. GST, vCPU, RAM GB, disk GB, 3/6/12-month discount %
    ("g-4gb", "G.4GB", 112000, 2, 4, 80, (0, 5, 10)),
    ("g-8gb", "G.8GB", 224000, 4, 8, 160, (0, 5, 10)),
    ("g-16gb", "G.16GB", 448000, 8, 16, 320, (0, 5, 10)),
]
DEMO_CUSTOMER = ("demo@example.com", "demo-pass-123")
DEMO_ADMIN = ("admin@example.com", "admin-pass-123")


class Command(BaseCommand):
    help = "Create the demo plans, customer and superuser (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Allow seeding with DEBUG=False.")

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Refusing to seed demo data with DEBUG=False; pass --force if you really mean it.")
        with transaction.atomic():
            for order, (slug, name, price, vcpu, ram, disk, (d3, d6, d12)) in enumerate(DEMO_PLANS):
                HostingPlan.objects.update_or_create(
                    slug=slug,
                    defaults=dict(
                        name=name,
                        price_paise=price,
                        vcpu=vcpu,
                        ram_gb=ram,
                        disk_gb=disk,
                        is_active=True,
                        discount_3m_percent=d3,
                        discount_6m_percent=d6,
                        discount_12m_percent=d12,
                        sort_order=order,
                    ),
                )
            users = get_user_model().objects
            if not users.filter(email=DEMO_CUSTOMER[0]).exists():
                users.create_user(
                    email=DEMO_CUSTOMER[0],
                    password=DEMO_CUSTOMER[1],
                    full_name="Demo Customer",
                    billing_state="Karnataka",
                )
            if not users.filter(email=DEMO_ADMIN[0]).exists():
                users.create_superuser(email=DEMO_ADMIN[0], password=DEMO_ADMIN[1], full_name="Demo Admin")
        self.demo_history(users.get(email=DEMO_CUSTOMER[0]), users.get(email=DEMO_ADMIN[0]))
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {len(DEMO_PLANS)} plans, {DEMO_CUSTOMER[0]} / {DEMO_CUSTOMER[1]}, {DEMO_ADMIN[0]} / {DEMO_ADMIN[1]}"
            )
        )

    def demo_history(self, customer, staff):
        # The customer's paid order, server, renewal and answered ticket (dashboard/demo.py).
        why_not = demo_history_possible()
        if why_not:
            self.stdout.write(f"No demo order, server or ticket: {why_not}.")
            return
        server = demo_history_create(customer, staff, HostingPlan.objects.get(slug=DEMO_PLAN))
        if server is not None:
            self.stdout.write(
                f"Demo customer: paid order {server.order.number}, server {server.name}, a renewal due, a ticket."
            )
