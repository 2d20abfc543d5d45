import factory

from billing.factories import OrderFactory
from billing.models import Order

from .models import ProvisioningAttempt, Server, ServerStatusChange


class ServerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Server

    order = factory.SubFactory(OrderFactory, status=Order.Status.PAID)
    user = factory.SelfAttribute("order.user")
    plan = factory.SelfAttribute("order.plan")
    name = factory.LazyAttribute(lambda s: f"{s.order.plan_slug}-{s.order.number[-6:].lower()}")


class ServerStatusChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServerStatusChange

    server = factory.SubFactory(ServerFactory)
    from_status = ""
    to_status = "pending"
    source = "test"


class ProvisioningAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProvisioningAttempt

    server = factory.SubFactory(ServerFactory)
    number = factory.Sequence(lambda n: n + 1)
    backend = "simulated"
