"""Reading positions: the figures screens show about stock per location."""
from django.db.models import Count

from .models import Position


def negative_position_counts(location_ids):
    """{location_id: positions with negative available stock} for these locations."""
    return dict(
        Position.objects.filter(location__in=location_ids, available__lt=0)
        .values("location").annotate(n=Count("id")).values_list("location", "n")
    )
