import factory

from .models import Incident


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident

    key = factory.Sequence(lambda n: f"test-incident:{n}")
    title = "Something needs a human"
