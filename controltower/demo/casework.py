"""The full demo's people at work on their cases, on the simulated clock.

After each simulated day (the simulator's `progress`), at the day's close,
the demo logins do what the case page offers, through its services
(exceptions.services), so the root-cause Paretos, the approvals queue and
the cases' histories show weeks of work. The store managers work their
stores' cases, the regional ops lead the region's other stores, the
planner (stock control) those of the stores left:

- a case is picked up two to nine days after it opened (its own draw), or
  left to the tower: about a quarter of them are;
- a count variance, negative stock or returns past their disposition time
  are put right with a corrective adjustment (to the count, back to zero,
  the returns written off) and resolved with a root cause and a note; training is named less often as the weeks go by (the
  stores learn);
- a transfer never received is written off (its stock in transit); the
  case stays open while the transfer does;
- an adjustment above the approval threshold waits for finance, who
  decides it FINANCE_DAYS later: approves it (the case resolves, or goes on)
  or, one in four, rejects it with its reason; the latest still wait.

The store managers also report what the tills, labels and scanners do
wrong, at the pilot's stores mostly (REPORTED: issues people raise, with their category and
severity), each worked and resolved days later with its root cause, the
last ones still open at the load, as in a hypercare's first weeks.

A case whose condition comes back (a later count still off) reopens, as it
would. Deterministic (its own seeded random); every action happens at the
day's close, never at the wall clock's time.
"""
from __future__ import annotations

import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError

from controltower.models import Role
from exceptions.findings import CaseKind
from exceptions.models import AdjustmentReason, Case, CorrectiveAdjustment, ResolutionCode, RootCause
from exceptions.services.actions import resolve
from exceptions.services.adjustments import approve_adjustment, reject_adjustment, request_adjustment
from exceptions.services.reported import Category, report_issue

PICKED_UP_AFTER = (2, 3, 3, 4, 5, 7, 9)  # days after opening, drawn per case
LEFT_TO_THE_TOWER = 0.25  # the share of cases nobody picks up
FINANCE_DAYS = 3  # finance decides an adjustment after it waited this long
REJECTED_EVERY = 4  # finance rejects one decision in four (the first, the fifth, ...)
REJECTION = "Count it again first: the last count of the store found most of this stock."

R, A = RootCause, AdjustmentReason
# The kinds put right with a corrective adjustment: {root cause: weight} and the resolution note.
# Training's weight falls over the weeks.
CORRECTED = {
    CaseKind.COUNT_VARIANCE: ({R.PROCESS_NON_COMPLIANCE: 3, R.TRAINING: 3, R.SHRINK: 2, R.INTEGRATION_DELAY: 1},
                              "Stock corrected to the count."),
    CaseKind.NEGATIVE_STOCK: ({R.PROCESS_NON_COMPLIANCE: 2, R.TRAINING: 2, R.INTEGRATION_DELAY: 1},
                              "Stock found on the shelf and booked back."),
    CaseKind.RETURN_NOT_DISPOSITIONED: ({R.TRAINING: 3, R.PROCESS_NON_COMPLIANCE: 3},
                                        "Returns past their disposition time checked: not resaleable, written off."),
}

C, F = Category, ResolutionCode
# Issues people report: (day of the run, from its end when negative (-1 is the day the load cuts
# short: nothing is reported on it); who; store; category; severity;
# what happened; None for still open, else (days later, resolution, root cause, note)).
REPORTED = [
    (1, "manager.berlin", "SIMN001", C.POS, 2,
     "The new tills refuse the barcodes of weighed produce: cashiers key the prices in by hand.",
     (2, F.MASTER_DATA_FIXED, R.MASTER_DATA, "Scale barcodes (prefix 2) added to the item master's rules.")),
    (3, "manager.paris", "SIMS001", C.TRAINING, 3,
     "Two cashiers of the late shift cannot take back an item without its receipt on the new till.",
     (3, F.PROCESS_FOLLOWED_UP, R.TRAINING, "Receipt-less returns shown again to the late shift.")),
    (5, "manager.berlin", "SIMN001", C.PRICING, 2,
     "The beverages promotion rings up at full price while the shelf labels show the offer.",
     (1, F.MASTER_DATA_FIXED, R.MASTER_DATA, "The promotion's stores list sent again to the new tills.")),
    (8, "manager.paris", "SIMS001", C.HARDWARE, 3,
     "Handheld scanner 2 loses the Wi-Fi in the back store: counts are typed in afterwards.",
     (4, F.PROCESS_FOLLOWED_UP, R.SYSTEM_DEFECT, "Access point added in the back store.")),
    (12, "manager.paris", "SIMS001", C.ITEM_MASTER, 3,
     "Water arrives in packs of 6 but the receiving screen expects packs of 12.",
     (2, F.MASTER_DATA_FIXED, R.MASTER_DATA, "Case pack corrected in the item master.")),
    (17, "manager.berlin", "SIMN001", C.POS, 2,
     "Sunday's till totals did not reach head office.",
     (3, F.EVENT_REPLAYED, R.INTEGRATION_DELAY, "The till log of Sunday sent again.")),
    (23, "manager.paris", "SIMS001", C.TRAINING, 4,
     "New staff cannot find the count tasks on the handheld.",
     (2, F.PROCESS_FOLLOWED_UP, R.TRAINING, "Count tasks walked through with the new staff.")),
    (-4, "manager.paris", "SIMS002", C.ECOMMERCE, 3,
     "Click-and-collect orders show as ready for pickup before they are picked.", None),
    (-3, "manager.paris", "SIMS001", C.PRICING, 2,
     "Reduced-to-clear labels scan at full price.", None),
    (-2, "manager.berlin", "SIMN001", C.POS, 1,
     "The tills freeze for a minute after every card payment since the morning's update.", None),
]
REPORTED_AT = timedelta(hours=10, minutes=20)  # into the day: a morning's report


class Casework:
    """`day_closed(days_done)` is the simulator's `progress`: the people's work at the close of each day.
    `scopes`: {username: (store codes, region code)} of the logins who work a store's cases;
    `logins()` makes the demo logins (called once, when the simulated stores exist)."""

    def __init__(self, seed, start, until, days, scopes, logins):
        self.rng = random.Random(f"casework-{seed}")
        self.start, self.until, self.days = start, until, days
        self.scopes, self.logins = scopes, logins
        self.picked_up = {}  # case id -> when it is worked (None: left to the tower)
        self.decided = 0
        self.people = None
        self.reported = {}  # day index to resolve on -> [(case, resolution)]

    def day_closed(self, days_done):
        at = self.start + timedelta(days=days_done)
        if at >= self.until:
            return  # the day the load cut short has not closed
        if self.people is None:
            self.logins()
            self.people = _people()
        self.decide(at)
        learned = days_done / self.days
        for case in self.due(at):
            self.work(case, at, learned)
        self.report(days_done - 1, at)

    def report(self, day, at):
        """The issues reported on `day` (its index in the run), and those resolved at its close `at`."""
        for case, (_after, code, cause, note) in self.reported.pop(day, []):
            try:
                resolve(case, self.people[case.details["reported_by"]], code, cause, note=f"{note} (demo)", at=at)
            except (ValidationError, PermissionDenied):
                pass  # the case moved on meanwhile
        for when, username, store, category, severity, description, resolution in REPORTED:
            if (when if when >= 0 else self.days + when) != day or username not in self.people:
                continue
            try:
                case = report_issue(self.people[username], location_code=store, category=category,
                                    description=description, severity=severity,
                                    now=at - timedelta(days=1) + REPORTED_AT)
            except ValidationError:
                continue  # a smaller estate without this store
            if resolution is not None:
                self.reported.setdefault(day + resolution[0], []).append((case, resolution))

    def due(self, at):
        """The active cases of the kinds they work whose turn has come at `at`, in id order."""
        cases = (Case.objects.filter(kind__in=[CaseKind.TRANSFER_NOT_RECEIVED, *CORRECTED], location__isnull=False,
                                     status__in=Case.ACTIVE, opened_at__lte=at)
                 .exclude(adjustments__status=CorrectiveAdjustment.Status.PENDING_APPROVAL)
                 .select_related("location__region", "sku").order_by("pk"))
        due = []
        for case in cases:
            if case.pk not in self.picked_up:
                left = self.rng.random() < LEFT_TO_THE_TOWER
                self.picked_up[case.pk] = None if left else case.opened_at + timedelta(
                    days=self.rng.choice(PICKED_UP_AFTER))
            when = self.picked_up[case.pk]
            if when is not None and when <= at:
                self.picked_up[case.pk] = None  # worked once
                due.append(case)
        return due

    def work(self, case, at, learned):
        person = self.worker(case)
        try:
            if case.kind == CaseKind.TRANSFER_NOT_RECEIVED:
                missing = case.details["shipped"] - case.details["received"]
                request_adjustment(case, person, "in_transit", -missing, A.SHRINK, confirmed=True, at=at)
            elif case.kind in CORRECTED and (adjustment := _correction(case)):
                causes, note = CORRECTED[case.kind]
                weights = [weight * ((1 - learned) * 2 + 0.3) if cause == R.TRAINING else weight
                           for cause, weight in causes.items()]
                cause = self.rng.choices(list(causes), weights=weights)[0]
                resolve(case, person, ResolutionCode.STOCK_CORRECTED, cause, note=f"{note} (demo)",
                        adjustment=adjustment, at=at)
        except (ValidationError, PermissionDenied):
            return  # the case moved on meanwhile: nobody forces it

    def worker(self, case):
        """The store's manager, else the region's ops lead, else the planner (stock control for the estate)."""
        return next((self.people[username] for username, (stores, region) in self.scopes.items()
                     if case.location.code in stores or case.location.region.code == region), self.people["planner"])

    def decide(self, at):
        """Finance decides the adjustments that waited FINANCE_DAYS by `at`, oldest first."""
        waiting = (CorrectiveAdjustment.objects.filter(status=CorrectiveAdjustment.Status.PENDING_APPROVAL,
                                                       requested_at__lte=at - timedelta(days=FINANCE_DAYS))
                   .select_related("case", "location", "sku").order_by("requested_at", "pk"))
        finance = self.people["finance"]
        for adjustment in waiting:
            self.decided += 1
            if self.decided % REJECTED_EVERY == 1:
                reject_adjustment(adjustment, finance, f"{REJECTION} (demo)", at=at)
            else:
                approve_adjustment(adjustment, finance, at=at)


def _people():
    users = get_user_model().objects.filter(profile__role__in=[Role.STORE_MANAGER, Role.REGIONAL_OPS, Role.PLANNER,
                                                               Role.FINANCE])
    return {user.username: user for user in users}


def _correction(case):
    """The adjustment that puts a stock case right: to the count, back to zero, or the returns
    past their time written off; None when its details do not say by how much."""
    details = case.details or {}
    state = details.get("state")
    if case.kind == CaseKind.COUNT_VARIANCE and state and details.get("variance"):
        quantity = details["variance"]
    elif case.kind == CaseKind.NEGATIVE_STOCK and state and details.get("quantity", 0) < 0:
        quantity = -details["quantity"]
    elif case.kind == CaseKind.RETURN_NOT_DISPOSITIONED and details.get("returned"):
        state, quantity = "returned", -(details["returned"] - details.get("returned_within_sla", 0))
        return {"state": state, "quantity": quantity, "reason": A.SPOILAGE, "confirm": True} if quantity else None
    else:
        return None
    reason = A.FOUND if quantity > 0 else A.SHRINK
    return {"state": state, "quantity": quantity, "reason": reason, "confirm": True}
