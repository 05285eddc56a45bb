"""Why a snapshot differs from the ledger: the drift class of each
snapshot_mismatch and financial_variance finding, in plain words, with the
records behind it.

`classify(snapshot, findings)` takes the findings of one compared snapshot
and looks only at their keys (location x SKU), in a few set-based queries
per chunk of keys (VALUES joined to the ledger's indexes), never one query
per finding. The difference is d = observed - expected (the source's
quantity minus the ledger's as of the snapshot time). The rules, the most
specific first:

1. cost mismatch (financial only): the quantities agree, the value differs.
2. timing lag, late lines: ledger lines at the key that occurred at or
   before the snapshot time but reached the tower after the snapshot
   arrived (Snapshot.received_at) move the ledger by exactly -d: the
   source could not know them. (A line an earlier-dated cycle count
   already covers does not move the ledger and is not counted.)
3. duplicate: active suspected_duplicate cases at the location x SKU whose
   repeated (later) line occurred at or before the snapshot time: removing
   one of them, or all of them, would leave no difference.
4. missing event: a transfer to or from the location with shipped and
   received apart by |d|; a return of |d| still not dispositioned at the
   snapshot time; a receipt of |d| that no PO line matches; an open PO line
   with |d| still to receive.
5. unit-of-measure error, for a pack conversion factor f of the SKU: the
   observed is the expected x f or / f; or a line of q units at the key in
   the UOM_LOOKBACK before the snapshot time explains d as (f - 1) x q in
   the line's direction (a pack entered as one unit: only a receipt or a
   transfer not entered in that pack, as sales are of single units) or
   (f - 1) x q / f against it (a unit entered as a pack: a line entered in
   that pack).
6. timing lag, latency window: the snapshot time is more recent than the
   latency target of the sources feeding the location (their lane, or every
   source without one), so lines from before it may still be on their way;
   the case resolves itself when they arrive and the ledger catches up.
7. unexplained.

Each classified finding carries `drift` (exceptions.findings.Drift),
details["drift"] ({"class", "explanation", and the numbers}) and the records
behind the class in its lineage.
"""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from controltower.db import aware, chunks, db_time, values_clause
from controltower.when import duration_words
from inventory.models import SourceSystem, UnitConversion

from ..findings import CaseKind, Drift
from ..models import Case
from .common import LINEAGE_LIMIT, fetch_rows, money, to_decimal

KEYS_PER_QUERY = 500
# How far before the snapshot time a line may be the one entered in the wrong unit.
UOM_LOOKBACK = timedelta(days=7)
# The lines that move case packs: a receipt or a transfer of 1 may be one
# pack entered as one unit; a sale of 1 is one unit sold.
PACKED = ("receipt", "transfer_out", "transfer_in")


def classify(snapshot, findings, now=None):
    """Set the drift class of each finding of `snapshot` (in place)."""
    if not findings:
        return findings
    now = now or timezone.now()
    for chunk in chunks(findings, KEYS_PER_QUERY):
        evidence = _Evidence(snapshot, chunk, now)
        for finding in chunk:
            drift, explanation, numbers, lineage = _classify_one(finding, evidence)
            finding.drift = drift.value
            finding.details["drift"] = {"class": drift.value, "explanation": explanation, **numbers}
            finding.lineage = finding.lineage + lineage
    return findings


def _difference(finding):
    details = finding.details
    if finding.kind == CaseKind.FINANCIAL_VARIANCE:
        return details["observed_quantity"] - details["expected_quantity"]
    return details["difference"]


def _observed_expected(finding):
    details = finding.details
    if finding.kind == CaseKind.FINANCIAL_VARIANCE:
        return details["observed_quantity"], details["expected_quantity"]
    return details["observed"], details["expected"]


def _signed(n):
    return f"{n:+d}"


def _classify_one(finding, ev):
    key = (finding.location_id, finding.sku_id)
    state = finding.details["state"]
    d = _difference(finding)
    observed, expected = _observed_expected(finding)

    if finding.kind == CaseKind.FINANCIAL_VARIANCE and d == 0:
        return _cost_mismatch(finding, observed)

    late = [leg for leg in ev.legs.get((*key, state), []) if leg["late"]]
    late_net = sum(leg["delta"] for leg in late)
    if late and d == -late_net:
        return (
            Drift.TIMING_LAG,
            f"{_lines(len(late)).capitalize()} at this location and SKU occurred before the snapshot time "
            f"but reached the tower after the snapshot arrived; {'it moves' if len(late) == 1 else 'together they move'} "
            f"{state} by "
            f"{_signed(late_net)}, the whole difference of {_signed(d)}. The next snapshot will include them.",
            {"difference": d, "late_lines": len(late), "late_net": late_net},
            [("event", leg["id"]) for leg in late[:LINEAGE_LIMIT]],
        )

    if found := _duplicate(ev.duplicates.get(key, []), state, d, key[0]):
        return found

    if found := _missing_event(ev, key, d):
        return found

    if found := _unit_of_measure(ev, key, state, d, observed, expected):
        return found

    window = ev.latency_window(finding.location_id)
    if window is not None:
        age = ev.now - ev.as_of
        return (
            Drift.TIMING_LAG,
            f"The snapshot time is {duration_words(age)} ago and the sources feeding this "
            f"location deliver their events within {duration_words(timedelta(seconds=window))}; events from "
            "before the snapshot time may still be on their way. The case resolves itself once they are in.",
            {"difference": d, "snapshot_age_s": int(age.total_seconds()), "latency_window_s": window},
            [],
        )

    return (
        Drift.UNEXPLAINED,
        f"No late lines, suspected duplicates, open transfers, returns, receipts, PO lines or "
        f"pack conversions at this location and SKU account for the difference of {_signed(d)}.",
        {"difference": d},
        [],
    )


def _lines(n):
    return "1 ledger line" if n == 1 else f"{n} ledger lines"


def _cost_mismatch(finding, quantity):
    details = finding.details
    sku_cost = to_decimal(details["unit_cost"])
    value = to_decimal(details["observed_value"])
    numbers = {"quantity": quantity, "sku_unit_cost": str(sku_cost), "observed_value": str(value)}
    if quantity:
        erp_cost = money(value / quantity)
        numbers["erp_unit_cost"] = str(erp_cost)
        words = (f"The quantities agree ({quantity}); the ERP values them at {erp_cost} a unit, "
                 f"the SKU's unit cost is {money(sku_cost)}.")
    else:
        words = f"The quantities agree (none); the ERP still carries a value of {value}."
    return Drift.COST_MISMATCH, words, numbers, []


def _duplicate(cases, state, d, location_id):
    """Active suspected duplicates whose repeated line moves this state by
    -d (one of them, else all of them together)."""
    moving = []
    for case in cases:
        delta = _leg_delta(case["event"], location_id, state)
        if delta:
            moving.append((case, delta))
    for case, delta in moving:
        if d == -delta:
            return _duplicate_words([(case, delta)], d)
    if len(moving) > 1 and d == -sum(delta for _, delta in moving):
        return _duplicate_words(moving, d)
    return None


def _duplicate_words(matched, d):
    names = ", ".join(f"#{case['case_id']}" for case, _ in matched)
    noun = "case" if len(matched) == 1 else "cases"
    return (
        Drift.DUPLICATE,
        f"Suspected duplicate {noun} {names} at this location and SKU: the ledger counts the "
        f"repeated {'line' if len(matched) == 1 else 'lines'} ({_signed(sum(x for _, x in matched))}), the "
        f"source does not; without {'it' if len(matched) == 1 else 'them'} there is no difference "
        f"({_signed(d)}).",
        {"difference": d, "duplicate_cases": [case["case_id"] for case, _ in matched],
         "repeated_events": [case["event"]["id"] for case, _ in matched]},
        [("event", case["event"]["id"]) for case, _ in matched],
    )


def _leg_delta(event, location_id, state):
    """How one ledger line moves `state` at `location_id`."""
    delta = 0
    if event["type"] == "cycle_count":
        return 0
    if event["from_state"] == state and event["location_id"] == location_id:
        delta -= event["quantity"]
    if event["to_state"] == state and (event["to_location_id"] or event["location_id"]) == location_id:
        delta += event["quantity"]
    return delta


def _missing_event(ev, key, d):
    size = abs(d)
    for transfer in ev.transfers.get(key, []):
        outstanding = transfer["quantity_shipped"] - transfer["quantity_received"]
        if abs(outstanding) != size:
            continue
        if outstanding > 0:
            words = (f"transfer {transfer['reference']} shipped {transfer['quantity_shipped']} and "
                     f"{transfer['quantity_received']} were received: {outstanding} have no transfer_in")
        else:
            words = (f"transfer {transfer['reference']} received {transfer['quantity_received']} of "
                     f"{transfer['quantity_shipped']} shipped: {-outstanding} have no transfer out")
        return _missing(words, d, {"transfer": transfer["reference"]}, [("transfer", transfer["id"])])
    for line in ev.counterless.get((*key, size), []):
        if line["type"] == "return":
            words = f"a return of {size} (line {line['id']}) was never dispositioned"
        else:
            named = f"PO {line['reference']}" if line["reference"] else "no PO reference"
            words = f"a receipt of {size} (line {line['id']}, {named}) matches no PO line"
        return _missing(words, d, {"event": line["id"]}, [("event", line["id"])])
    for po in ev.po_lines.get((*key, size), []):
        words = (f"PO {po['po_number']} line {po['line']} ordered {po['quantity_ordered']}, "
                 f"{po['quantity_received']} were received: {size} have no receipt")
        return _missing(words, d, {"po_line": f"{po['po_number']}/{po['line']}"}, [("po_line", po["id"])])
    return None


def _missing(words, d, numbers, lineage):
    return (
        Drift.MISSING_EVENT,
        f"{words[0].upper()}{words[1:]}, the size of the difference ({_signed(d)}).",
        {"difference": d, **numbers},
        lineage,
    )


def _unit_of_measure(ev, key, state, d, observed, expected):
    conversions = ev.conversions.get(key[1], [])
    for unit, f in conversions:
        if expected and observed == expected * f:
            return _uom(f"the source's {observed} is the ledger's {expected} x {f} ({unit})", d, unit, f, [])
        if observed and expected == observed * f:
            return _uom(f"the ledger's {expected} is the source's {observed} x {f} ({unit})", d, unit, f, [])
    recent = [leg for leg in ev.legs.get((*key, state), []) if leg["recent"]]
    for unit, f in conversions:
        for leg in recent:
            q, sign = abs(leg["delta"]), 1 if leg["delta"] > 0 else -1
            if leg["type"] in PACKED and leg["unit"] != unit and d == sign * (f - 1) * q:
                # A pack entered as one unit moved the ledger by 1 where the shelf moved by f.
                words = (f"line {leg['id']} ({leg['type']} of {q}) looks like {q} {unit} entered as {q}: "
                         f"({f} - 1) x {q} = {abs(d)}")
            elif leg["unit"] == unit and d * f == -sign * (f - 1) * q:
                # A unit entered as a pack moved the ledger by f where the shelf moved by 1.
                words = (f"line {leg['id']} ({leg['type']} of {q}) looks like {q // f} units entered as "
                         f"{q // f} {unit}: {q} - {q // f} = {abs(d)}")
            else:
                continue
            return _uom(words, d, unit, f, [("event", leg["id"])])
    return None


def _uom(words, d, unit, factor, lineage):
    return (
        Drift.UNIT_OF_MEASURE,
        f"{words[0].upper()}{words[1:]}, the whole difference ({_signed(d)}).",
        {"difference": d, "unit": unit, "factor": factor},
        lineage,
    )


class _Evidence:
    """What the ledger and master data hold at the keys of one chunk of findings."""

    def __init__(self, snapshot, findings, now):
        self.now = now
        self.as_of = aware(snapshot.as_of)
        self.received_at = aware(snapshot.received_at)
        keys = sorted({(f.location_id, f.sku_id) for f in findings})
        sized = sorted({(f.location_id, f.sku_id, abs(_difference(f))) for f in findings if _difference(f)})
        self.legs = self._legs(keys)
        self.duplicates = self._duplicates(keys)
        self.transfers = self._transfers(keys)
        self.counterless = self._counterless(sized)
        self.po_lines = self._po_lines(sized)
        self.conversions = {}
        for sku_id, unit, factor in UnitConversion.objects.filter(
            sku_id__in={k[1] for k in keys}, factor__gt=1
        ).order_by("factor", "unit").values_list("sku_id", "unit", "factor"):
            if factor == factor.to_integral_value():  # packs; a measure (LBR = 453.59237 G) is no pack error
                self.conversions.setdefault(sku_id, []).append((unit, int(factor)))
        self._windows = None

    def _legs(self, keys):
        """Per (location, sku, state): the lines up to the snapshot time that
        arrived after it (`late`) or fall in the UOM_LOOKBACK (`recent`),
        less those an earlier-dated count at the key covers."""
        values, params = values_clause(keys, 2)
        common = "e.type <> 'cycle_count' AND e.occurred_at <= %s AND (e.received_at > %s OR e.occurred_at >= %s)"
        times = [db_time(self.as_of), db_time(self.received_at), db_time(self.as_of - UOM_LOOKBACK)]
        select = (
            "SELECT e.id, e.type, {loc} AS loc, e.sku_id AS sku, {state} AS state, {delta} AS delta, "
            "e.occurred_at, e.received_at, e.entered_unit "
            "FROM inventory_inventoryevent e JOIN k ON {loc} = k.loc AND e.sku_id = k.sku"
        )
        rows = fetch_rows(
            f"WITH k(loc, sku) AS (VALUES {values}) "
            + select.format(loc="e.location_id", state="e.from_state", delta="-e.quantity")
            + f" WHERE e.from_state IS NOT NULL AND {common} UNION ALL "
            + select.format(loc="e.location_id", state="e.to_state", delta="e.quantity")
            + f" WHERE e.to_state IS NOT NULL AND e.to_location_id IS NULL AND {common} UNION ALL "
            + select.format(loc="e.to_location_id", state="e.to_state", delta="e.quantity")
            + f" WHERE e.to_state IS NOT NULL AND e.to_location_id IS NOT NULL AND {common}"
            + " ORDER BY 1",
            [*params, *times * 3],
        )
        counted = {
            (row["loc"], row["sku"], row["state"]): aware(row["at"])
            for row in fetch_rows(
                f"WITH k(loc, sku) AS (VALUES {values}) "
                "SELECT e.location_id AS loc, e.sku_id AS sku, e.to_state AS state, MAX(e.occurred_at) AS at "
                "FROM inventory_inventoryevent e JOIN k ON e.location_id = k.loc AND e.sku_id = k.sku "
                "WHERE e.type = 'cycle_count' AND e.occurred_at <= %s GROUP BY e.location_id, e.sku_id, e.to_state",
                [*params, db_time(self.as_of)],
            )
        }
        legs = {}
        for row in rows:
            key = (row["loc"], row["sku"], row["state"])
            occurred = aware(row["occurred_at"])
            if key in counted and occurred <= counted[key]:
                continue
            legs.setdefault(key, []).append({
                "id": row["id"], "type": row["type"], "delta": row["delta"], "unit": row["entered_unit"],
                "late": aware(row["received_at"]) > self.received_at,
                "recent": occurred >= self.as_of - UOM_LOOKBACK,
            })
        return legs

    def _duplicates(self, keys):
        """Per (location, sku): the active suspected_duplicate cases with their
        repeated line (the later of the lines they name) at or before the snapshot time."""
        values, params = values_clause(keys, 2)
        statuses = ", ".join(["%s"] * len(Case.ACTIVE))
        rows = fetch_rows(
            f"WITH k(loc, sku) AS (VALUES {values}) "
            "SELECT c.id AS case_id, c.location_id AS loc, c.sku_id AS sku, e.id, e.type, e.location_id, "
            "e.to_location_id, e.from_state, e.to_state, e.quantity, e.occurred_at "
            f"FROM {Case._meta.db_table} c JOIN k ON c.location_id = k.loc AND c.sku_id = k.sku "
            "JOIN exceptions_caselink l ON l.case_id = c.id AND l.kind = 'event' "
            "JOIN inventory_inventoryevent e ON e.id = l.object_id "
            f"WHERE c.kind = %s AND c.status IN ({statuses}) ORDER BY c.id",
            [*params, CaseKind.SUSPECTED_DUPLICATE, *Case.ACTIVE],
        )
        later = {}
        for row in rows:
            row["occurred_at"] = aware(row["occurred_at"])
            best = later.get(row["case_id"])
            if best is None or (row["occurred_at"], row["id"]) > (best["occurred_at"], best["id"]):
                later[row["case_id"]] = row
        found = {}
        for case_id, event in later.items():
            if event["occurred_at"] <= self.as_of:
                found.setdefault((event["loc"], event["sku"]), []).append({"case_id": case_id, "event": event})
        return found

    def _transfers(self, keys):
        """Per (location, sku): transfers to or from it, under way by the
        snapshot time, whose shipped and received quantities differ."""
        values, params = values_clause(keys, 2)
        select = (
            "SELECT t.id, t.reference, {end} AS loc, t.sku_id AS sku, t.quantity_shipped, t.quantity_received "
            "FROM inventory_transfer t JOIN k ON {end} = k.loc AND t.sku_id = k.sku "
            "WHERE t.quantity_shipped <> t.quantity_received AND COALESCE(t.shipped_at, t.received_at) <= %s"
        )
        rows = fetch_rows(
            f"WITH k(loc, sku) AS (VALUES {values}) "
            + select.format(end="t.to_location_id") + " UNION ALL " + select.format(end="t.from_location_id")
            + " ORDER BY 1",
            [*params, db_time(self.as_of), db_time(self.as_of)],
        )
        found = {}
        for row in rows:
            found.setdefault((row["loc"], row["sku"]), []).append(row)
        return found

    def _counterless(self, sized):
        """Per (location, sku, quantity): returns still not dispositioned at
        the snapshot time, and receipts no PO line matches, of that quantity."""
        if not sized:
            return {}
        values, params = values_clause(sized, 3)
        as_of = db_time(self.as_of)
        rows = fetch_rows(
            f"WITH k(loc, sku, qty) AS (VALUES {values}) "
            "SELECT e.id, e.type, e.location_id AS loc, e.sku_id AS sku, e.quantity, e.reference, "
            "CASE WHEN e.type = 'return' THEN ("
            "  SELECT COALESCE(SUM(CASE WHEN x.to_state = 'returned' THEN x.quantity ELSE -x.quantity END), 0)"
            "  FROM inventory_inventoryevent x WHERE x.location_id = e.location_id AND x.sku_id = e.sku_id"
            "  AND x.occurred_at <= %s AND x.type <> 'cycle_count'"
            "  AND (x.to_state = 'returned' OR x.from_state = 'returned')) END AS still_returned "
            "FROM inventory_inventoryevent e "
            "JOIN k ON e.location_id = k.loc AND e.sku_id = k.sku AND e.quantity = k.qty "
            "WHERE e.occurred_at <= %s AND (e.type = 'return' OR (e.type = 'receipt' AND NOT EXISTS ("
            "  SELECT 1 FROM inventory_purchaseorderline po"
            "  WHERE po.po_number = e.reference AND po.location_id = e.location_id AND po.sku_id = e.sku_id))) "
            "ORDER BY e.id",
            [*params, as_of, as_of],
        )
        found = {}
        for row in rows:
            if row["type"] == "return" and row["still_returned"] < row["quantity"]:
                continue
            found.setdefault((row["loc"], row["sku"], row["quantity"]), []).append(row)
        return found

    def _po_lines(self, sized):
        """Per (location, sku, quantity): open PO lines due by the snapshot
        time with that quantity still to receive."""
        if not sized:
            return {}
        values, params = values_clause(sized, 3)
        rows = fetch_rows(
            f"WITH k(loc, sku, qty) AS (VALUES {values}) "
            "SELECT po.id, po.po_number, po.line, po.location_id AS loc, po.sku_id AS sku, "
            "po.quantity_ordered, po.quantity_received, po.quantity_ordered - po.quantity_received AS missing "
            "FROM inventory_purchaseorderline po JOIN k ON po.location_id = k.loc AND po.sku_id = k.sku "
            "AND po.quantity_ordered - po.quantity_received = k.qty "
            "WHERE po.status = 'open' AND (po.expected_at IS NULL OR po.expected_at <= %s) ORDER BY po.id",
            [*params, db_time(self.as_of)],
        )
        found = {}
        for row in rows:
            found.setdefault((row["loc"], row["sku"], row["missing"]), []).append(row)
        return found

    def latency_window(self, location_id):
        """The latency target (s) of the sources feeding the location, when
        the snapshot time is still inside it; None once it has passed."""
        if self._windows is None:
            self._windows = self._latency_windows()
        everywhere, by_location = self._windows
        window = max(everywhere, by_location.get(location_id, 0))
        return window if window and self.now - self.as_of < timedelta(seconds=window) else None

    def _latency_windows(self):
        """(the largest target of active sources without a lane of
        locations, {location: the largest target of those whose lane names it})."""
        sources = SourceSystem.objects.filter(active=True)
        longest = max(sources.values_list("latency_target_s", flat=True), default=0)
        if self.now - self.as_of >= timedelta(seconds=longest):
            return 0, {}
        everywhere = max(
            sources.filter(lane_locations__isnull=True).values_list("latency_target_s", flat=True), default=0
        )
        by_location = {}
        lanes = SourceSystem.lane_locations.through.objects.filter(sourcesystem__active=True)
        for location_id, target in lanes.values_list("location_id", "sourcesystem__latency_target_s"):
            by_location[location_id] = max(by_location.get(location_id, 0), target)
        return everywhere, by_location
