"""Issues people report ("the tills refuse the new barcodes"): in hypercare
most problems are first seen by a person, not by a reconciliation run.

A report becomes a case of kind `reported`, declared in the detector
registry as a kind raised by people (exceptions.detectors): routed, timed,
escalated and settled like every case, never cleared by a run. Its category
says which part of the rollout it is about; the person who reported it is
in its history.
"""
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone

from controltower.scoping import visible_locations
from inventory.trading import Calendar

from ..detectors import Detector, Route, register
from ..models import Case, CaseHistory
from .routing import Router, sla_start

KIND = "reported"
DESCRIPTION_LIMIT = 4000


class Category(models.TextChoices):
    POS = "pos", "POS"
    PRICING = "pricing", "Pricing"
    ITEM_MASTER = "item_master", "Item master"
    ECOMMERCE = "ecommerce", "Ecommerce"
    TRAINING = "training", "Training"
    HARDWARE = "hardware", "Hardware"
    OTHER = "other", "Other"


register(Detector(
    KIND, "Reported issue", None, 0,
    settled_by_a_person=True,
    # Regional ops own a store's problems first; the ladder takes them to the command center.
    routes=(Route("REGIONAL-OPS"),),
))


def report_issue(user, *, location_code, category, description, severity, now=None) -> Case:
    """Open a `reported` case for `user` at the location they see with code `location_code`.
    ValidationError naming the field for bad input; PermissionDenied for a location out of scope."""
    now = now or timezone.now()
    errors = {}
    description = (description or "").strip()
    if not description:
        errors["description"] = ["Say what happened."]
    elif len(description) > DESCRIPTION_LIMIT:
        errors["description"] = [f"At most {DESCRIPTION_LIMIT} characters."]
    if category not in Category.values:
        errors["category"] = [f"One of: {', '.join(Category.values)}."]
    if not isinstance(severity, int) or isinstance(severity, bool) or not 1 <= severity <= 4:
        errors["severity"] = ["A severity from 1 (most urgent) to 4."]
    location = visible_locations(user).filter(code=location_code).select_related("region").first()
    if location is None:
        errors["location"] = [f"No location '{location_code}' in your scope."]
    if errors:
        raise ValidationError(errors)
    if not user.is_authenticated:
        raise PermissionDenied("Sign in to report an issue.")
    label = Category(category).label
    router = Router()
    with transaction.atomic():
        case = Case.objects.create(
            kind=KIND, severity=severity, status=Case.Status.OPEN, location=location, reference=label,
            fingerprint=f"{KIND}:{uuid.uuid4().hex}",
            summary=f"{label} issue reported at {location.code} by {user.get_username()}: {description[:200]}",
            # The category in words, as the case page shows its details.
            details={"category": label, "description": description, "reported_by": user.get_username()},
            opened_at=now, owner=router.team(KIND, severity, location.region_id),
            **sla_start(location, router.policy(KIND, severity), Calendar(), now),
        )
        CaseHistory.objects.create(case=case, at=now, actor=user, action="reported", field="status",
                                   to_value=Case.Status.OPEN, note=description)
    return case
