"""factory-boy factories of the rollout: programs, waves, gates, criteria, training."""
from decimal import Decimal

import factory
from django.utils import timezone

from rollout.models import (
    BlackoutWindow,
    Criterion,
    GateKind,
    GateTemplate,
    Program,
    TrainingModule,
    TrainingRecord,
    Wave,
    WaveLocation,
)
from tests.inventory.factories import LocationFactory

KIND_ORDER = {kind: number for number, kind in enumerate(GateKind.values, start=1)}


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"ERP rollout {n}")


class WaveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Wave
        skip_postgeneration_save = True

    program = factory.SubFactory(ProgramFactory)
    name = factory.Sequence(lambda n: f"Wave {n}")
    order = factory.Sequence(lambda n: n + 1)
    kind = Wave.Kind.REGIONAL

    @factory.post_generation
    def stores(self, create, extracted, **kwargs):
        """WaveFactory(stores=[location, ...]): the wave's locations."""
        for location in extracted or ():
            WaveLocation.objects.create(wave=self, location=location)


class GateTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GateTemplate
        django_get_or_create = ("program", "kind")

    program = factory.SubFactory(ProgramFactory)
    kind = GateKind.DATA_READINESS
    order = factory.LazyAttribute(lambda o: KIND_ORDER[o.kind])
    required_roles = factory.LazyFunction(list)


class CriterionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Criterion

    template = factory.SubFactory(GateTemplateFactory)
    metric = "test_gauge"
    comparator = Criterion.Comparator.GTE
    threshold = Decimal("95")
    window_hours = 24


class BlackoutWindowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BlackoutWindow

    name = "Peak trading"


class TrainingModuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingModule
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"MOD{n}")
    name = factory.LazyAttribute(lambda o: f"Module {o.code}")
    required = True


class TrainingRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingRecord

    person_id = factory.Sequence(lambda n: f"P{n:04d}")
    person_name = factory.LazyAttribute(lambda o: f"Person {o.person_id}")
    location = factory.SubFactory(LocationFactory)
    module = factory.SubFactory(TrainingModuleFactory)
    completed_at = factory.LazyFunction(timezone.now)
    proficiency = 80
