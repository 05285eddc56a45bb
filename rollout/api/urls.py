from django.urls import path
from rest_framework.routers import SimpleRouter

from .criteria_views import CriterionViewSet, GateChangeViewSet, GateTemplateViewSet
from .views import (
    BlackoutWindowViewSet,
    EvaluationViewSet,
    GateViewSet,
    GoNoGoViewSet,
    ProgramViewSet,
    SignOffViewSet,
    TrainingView,
    WaiverViewSet,
    WaveViewSet,
)

router = SimpleRouter(trailing_slash=False)
router.register("programs", ProgramViewSet, basename="program")
router.register("waves", WaveViewSet, basename="wave")
router.register("gates", GateViewSet, basename="gate")
router.register("evaluations", EvaluationViewSet, basename="evaluation")
router.register("waivers", WaiverViewSet, basename="waiver")
router.register("sign-offs", SignOffViewSet, basename="sign-off")
router.register("go-no-go", GoNoGoViewSet, basename="go-no-go")
router.register("blackouts", BlackoutWindowViewSet, basename="blackout")
router.register("criteria", CriterionViewSet, basename="criterion")
router.register("gate-changes", GateChangeViewSet, basename="gate-change")
router.register("gate-templates", GateTemplateViewSet, basename="gate-template")

urlpatterns = [path("training", TrainingView.as_view(), name="training"), *router.urls]
