from rest_framework.routers import SimpleRouter

from .views import AdjustmentViewSet, CaseViewSet

router = SimpleRouter(trailing_slash=False)
router.register("cases", CaseViewSet, basename="case")
router.register("adjustments", AdjustmentViewSet, basename="adjustment")

urlpatterns = router.urls
