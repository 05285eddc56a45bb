"""Issues people report ("the tills refuse the new barcodes"): in hypercare
most problems are first seen by a person, not by a reconciliation run.

A report becomes a case of kind `reported`, declared in the detector
registry as a kind raised by people (exceptions.detectors): routed, timed,
escalated and settled like every case, never cleared by a run. Its category
says which part of the rollout it is about; the person who reported it is
in its history.
"""
import io
import uuid

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from PIL import Image
from django.db import models, transaction
from django.utils import timezone

from controltower.scoping import visible_locations
from inventory.trading import Calendar

from ..detectors import Detector, Route, register
from ..models import Case, CaseAttachment, CaseHistory
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


# The photo formats taken, as Pillow names them, with their content type.
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
PHOTO_MAX_PIXELS = 40_000_000  # a phone's largest; beyond it a decompression bomb


def _photo(upload):
    """The uploaded photo checked and written again by Pillow: (its bytes, its format), so no
    metadata (a phone's GPS position) and nothing but the picture is kept. ValidationError
    naming the field for anything else."""
    if upload.size > settings.REPORT_PHOTO_MAX_BYTES:
        raise ValidationError({"photo": [f"At most {filesizeformat(settings.REPORT_PHOTO_MAX_BYTES)}."]})
    try:
        with Image.open(upload) as image:
            image.load()
            kind = image.format
            if kind not in PHOTO_FORMATS:
                raise ValidationError({"photo": ["A photo as JPEG, PNG or WebP."]})
            if image.width * image.height > PHOTO_MAX_PIXELS:
                raise ValidationError({"photo": ["A photo of at most 40 megapixels."]})
            clean = io.BytesIO()
            (image.convert("RGB") if kind == "JPEG" and image.mode not in ("RGB", "L") else image).save(clean, kind)
    except (OSError, Image.DecompressionBombError):
        raise ValidationError({"photo": ["Not a picture this tower can read (JPEG, PNG or WebP)."]}) from None
    return clean.getvalue(), kind


def report_issue(user, *, location_code, category, description, severity, photo=None, now=None) -> Case:
    """Open a `reported` case for `user` at the location they see with code `location_code`,
    with an optional photo (an uploaded file). ValidationError naming the field for bad input."""
    now = now or timezone.now()
    errors = {}
    picture = None
    if photo is not None:
        try:
            picture = _photo(photo)
        except ValidationError as error:
            errors.update(error.message_dict)
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
            # No reference: the category is one of its details, shown once on the case page.
            kind=KIND, severity=severity, status=Case.Status.OPEN, location=location,
            fingerprint=f"{KIND}:{uuid.uuid4().hex}",
            summary=f"{label} issue reported at {location.code} by {user.get_username()}: {description[:200]}",
            # The category in words, as the case page shows its details.
            details={"category": label, "description": description, "reported_by": user.get_username()},
            opened_at=now, owner=router.team(KIND, severity, location.region_id),
            **sla_start(location, router.policy(KIND, severity), Calendar(), now),
        )
        CaseHistory.objects.create(case=case, at=now, actor=user, action="reported", field="status",
                                   to_value=Case.Status.OPEN, note=description)
        if picture is not None:
            content, kind = picture
            CaseAttachment.objects.create(
                case=case, file=ContentFile(content, name=f"case-{case.pk}.{kind.lower()}"),
                content_type=PHOTO_FORMATS[kind], size=len(content), uploaded_by=user, uploaded_at=now)
    return case
