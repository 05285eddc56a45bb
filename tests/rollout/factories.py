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
    # A gate given no criterion passes on its sign-offs, as if the PMO had
    # chosen sign-off only; sign_off_only=False for one nobody chose it for.
    sign_off_only = True


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


def rollout_rows(store, code):
    """A row of every rollout model for one store (the scope walk's), in a
    program of its own; texts naming `code` are set as `walk_texts`."""
    from datetime import date, timedelta

    from controltower.models import Role
    from rollout.models import Evaluation, Gate, GoNoGo, SignOff, Waiver
    from tests.controltower.factories import make_user

    pmo, approver = make_user(Role.PMO, username=f"walk-pmo-{code}"), make_user(Role.PMO, username=f"walk-pmo2-{code}")
    program = ProgramFactory(name=f"Program {code}")
    criterion = CriterionFactory(template=GateTemplateFactory(program=program, kind=GateKind.CUTOVER),
                                 metric="training_completion")
    wave = WaveFactory(program=program, name=f"Wave {code}", stores=[store])
    gate = Gate.objects.create(wave=wave, template=criterion.template, status=Gate.Status.OPEN,
                               opened_at=timezone.now())
    rows = {
        "program": program, "wave": wave, "gate": gate,
        "evaluation": Evaluation.objects.create(gate=gate, criterion=criterion, at=timezone.now(), passed=False,
                                                note=f"Evidence {code}"),
        "waiver": Waiver.objects.create(gate=gate, criterion=criterion, reason=f"Waiver {code}", requested_by=pmo,
                                        expires_at=timezone.now() + timedelta(days=3)),
        "sign_off": SignOff.objects.create(gate=gate, role=Role.FINANCE, person=approver, comment=f"Signed {code}",
                                           at=timezone.now()),
        "go_no_go": GoNoGo.objects.create(gate=gate, decision=GoNoGo.Decision.NO_GO, decided_by=pmo,
                                          decided_at=timezone.now(), comment=f"Decision {code}"),
        "blackout": BlackoutWindowFactory(name=f"Blackout {code}", region=store.region, starts_on=date(2026, 12, 1),
                                          ends_on=date(2026, 12, 2)),
        "training_record": TrainingRecordFactory(person_id=f"EMP-{code}", location=store),
    }
    texts = {"program": f"Program {code}", "wave": f"Wave {code}", "evaluation": f"Evidence {code}",
             "waiver": f"Waiver {code}", "sign_off": f"Signed {code}", "go_no_go": f"Decision {code}",
             "blackout": f"Blackout {code}", "training_record": f"EMP-{code}"}
    for name, text in texts.items():
        rows[name].walk_texts = (text,)
    return {f"rollout_{name}": row for name, row in rows.items()}


class KpiDayFactory(factory.django.DjangoModelFactory):
    """A rolled-up KPI value (controltower.rollups writes these; a test may set them by hand)."""

    class Meta:
        model = "controltower.KpiDay"

    metric = "inventory_accuracy_exact"
    day = factory.LazyFunction(lambda: timezone.now().date())
    dimension = "location"
    member = ""
    value = None
    sample = factory.LazyAttribute(lambda o: 0 if o.value is None else 10)
    records_url = factory.LazyAttribute(lambda o: f"/api/v1/counts?location={o.member}")
    computed_at = factory.LazyFunction(timezone.now)
