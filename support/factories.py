import factory
from django.core.files.base import ContentFile

from accounts.factories import UserFactory

from .models import Ticket, TicketAttachment, TicketMessage

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    user = factory.SubFactory(UserFactory)
    subject = factory.Sequence(lambda n: f"Help needed #{n}")


class TicketMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TicketMessage

    ticket = factory.SubFactory(TicketFactory)
    author = factory.SelfAttribute("ticket.user")
    body = "My server does not answer on port 22."


class TicketAttachmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TicketAttachment

    message = factory.SubFactory(TicketMessageFactory)
    file = factory.LazyFunction(lambda: ContentFile(PNG_BYTES, name="screenshot.png"))
    original_name = "screenshot.png"
    size = len(PNG_BYTES)
    content_type = "image/png"
    sha256 = "0" * 64
