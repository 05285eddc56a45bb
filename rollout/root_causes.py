"""Root causes, so the next wave learns: the Paretos of the resolved cases
(exceptions.pareto) of a wave, a region of it or a store, by root cause, by
kind and by category, and the root causes week by week, as the hypercare
pages' figures and tables (a Table each, so its CSV is the same rows); and
the root causes per wave of a program, on the rollout board.

Every count links to the case list of exactly those cases; "no data" when
no case was resolved with a root cause.
"""
from __future__ import annotations

from urllib.parse import urlencode

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from controltower.scoping import visible_locations
from controltower.when import when
from exceptions import pareto
from exceptions.models import Case, RootCause

from .hypercare import Cell, Table, wave_locations
from .models import WaveLocation

NO_DATA = "No data: no case at these stores was resolved with a root cause yet."
# The pages' ?part= answering their root causes alone (htmx, read when they come into view), or,
# without htmx, the page with them shown.
PART = "root-causes"


def _percent(value):
    return Cell(f"{value:.1f}%")


def pareto_table(found, name):
    title = f"Resolved cases by {found.dimension.label.lower()}"
    table = Table(name, title, [found.dimension.label, "Resolved cases", "Share", "Cumulative share"],
                  empty=NO_DATA if found.dimension.name != "category" else
                  "No data: no reported issue at these stores was resolved with a root cause yet.",
                  note=f"As of {when(found.as_of)}: cases resolved or closed with a root cause, largest first; "
                       f"each count lists its cases.")
    for bar in found.bars:
        table.rows.append([Cell(bar.label), Cell(str(bar.count), bar.records_url, number=bar.count),
                           _percent(bar.share), _percent(bar.cumulative)])
    return table


def weekly_table(cases, codes, as_of):
    periods, counts = pareto.by_week(cases, as_of)
    causes = RootCause.choices
    table = Table("root-causes-by-week", "Root causes week by week",
                  ["Week starting (UTC)", *[label for _, label in causes], "All root causes"],
                  empty=f"No data: no case at these stores was resolved with a root cause in the last "
                        f"{len(periods)} weeks.",
                  note=f"As of {when(as_of)}: cases resolved each week (Monday to Sunday, UTC) with a root cause; "
                       f"the current week up to now.")
    if not counts:
        return table  # its empty words: nothing resolved in the weeks shown
    for start, end in periods:
        row, total = [Cell(f"{start:%d %b %Y}")], 0
        for cause, _label in causes:
            count = counts.get((start, cause), 0)
            total += count
            link = pareto.cases_link(codes, end, root_cause=cause, resolved_since=start) if count else ""
            row.append(Cell(str(count), link, number=count))
        row.append(Cell(str(total), pareto.cases_link(codes, end, resolved_since=start) if total else "",
                        number=total))
        table.rows.append(row)
    return table


def section(user, stores, among=None, as_of=None, dimensions=tuple(pareto.DIMENSIONS)):
    """{"paretos": [Pareto with bars], "root_cause_tables": [Table]} of the cases `user` sees at
    `stores` (Locations; `among`: the same as a query, for a wave's many stores), by each of
    `dimensions` (keys of pareto.DIMENSIONS) and week by week."""
    as_of = as_of or timezone.now()
    codes = [store.code for store in stores]
    cases = Case.objects.restrict(user).filter(location__in=stores if among is None else among.values("pk"))
    if not stores:
        cases = cases.none()
    found = [pareto.pareto(cases, name, codes, as_of) for name in dimensions]
    tables = [pareto_table(p, f"by-{p.dimension.name.replace('_', '-')}") for p in found]
    tables.append(weekly_table(cases, codes, as_of))
    return {"paretos": [p for p in found if p.bars], "root_cause_tables": tables, "root_causes_as_of": as_of}


def wave_section(user, wave, stores, as_of=None):
    return section(user, stores, among=wave_locations(wave, user), as_of=as_of)


def program_section(user, program, waves, region=None, as_of=None):
    """The board's: the Pareto by root cause of the waves' stores `user` sees, each wave's and each
    region's resolved cases by root cause, so the waves still to come learn from those gone before;
    and one region's (`region`, a code; by default the one with the most) Pareto by root cause and
    week by week, counted by `section` as hypercare's region page counts them."""
    as_of = as_of or timezone.now()
    stores = visible_locations(user).filter(wave_memberships__wave__in=waves).distinct()
    cases = Case.objects.restrict(user).filter(location__in=stores.values("pk"))
    codes_of = {}  # {region code: its stores' codes}
    names = {}
    for region_code, region_name, code in stores.order_by("region__code", "code").values_list(
            "region__code", "region__name", "code"):
        codes_of.setdefault(region_code, []).append(code)
        names[region_code] = region_name
    regions = region_table(program, cases, codes_of, as_of)
    found = {"root_cause_pareto": pareto.pareto(cases, "root_cause", [code for codes in codes_of.values()
                                                                         for code in codes], as_of),
             "root_cause_table": program_table(user, waves, as_of), "root_cause_regions": regions,
             "root_cause_region_choices": sorted(names.items()), "root_causes_as_of": as_of}
    # By default the table's first row: the region with the most resolved cases.
    chosen = region if region in codes_of else (regions.rows[0][0].text if regions.rows else None)
    if region and region not in codes_of:
        found["root_cause_region_error"] = (f"region: no region “{region}” among the stores of this program you "
                                            f"see" + (f"; showing {chosen}." if chosen else "."))
    if chosen:
        in_region = list(stores.filter(region__code=chosen).order_by("code"))
        found["root_cause_region"] = {"code": chosen, "name": names[chosen],
                                      **section(user, in_region, as_of=as_of, dimensions=["root_cause"])}
    return found


def region_table(program, cases, codes_of, as_of):
    """Each region's resolved cases by root cause (`codes_of`: {region code: its stores' codes}),
    the region with the most first; a region's name shows its Pareto and weeks on the board."""
    causes = RootCause.choices
    table = Table("root-causes-by-region", "Root causes per region",
                  ["Region", *[label for _, label in causes], "All root causes"],
                  empty="No data: no case at the waves' stores was resolved with a root cause yet.",
                  note=f"As of {when(as_of)}: cases resolved or closed with a root cause at the program's stores in "
                       f"each region, the region with the most first; each count lists its cases, each region "
                       f"shows its Pareto and its weeks.")
    by_region = {}
    for region_code, cause, count in (
            pareto.with_root_cause(cases).filter(resolved_at__lt=as_of)
            .values("location__region__code", "root_cause").annotate(n=Count("pk")).order_by()
            .values_list("location__region__code", "root_cause", "n")):
        by_region.setdefault(region_code, {})[cause] = count
    board = reverse("rollout")
    for region_code, counts in sorted(by_region.items(), key=lambda item: (-sum(item[1].values()), item[0])):
        codes = codes_of.get(region_code, [])
        shown = f"{board}?{urlencode({'program': program.pk, 'region': region_code, 'part': PART})}#root-causes-region"
        table.rows.append(_counts_row(Cell(region_code, shown), counts, causes, codes, as_of))
    return table


def program_table(user, waves, as_of):
    """Each wave's resolved cases by root cause (its stores `user` sees)."""
    causes = RootCause.choices
    table = Table("root-causes", "Root causes per wave",
                  ["Wave", *[label for _, label in causes], "All root causes"],
                  empty="No data: no case at the waves' stores was resolved with a root cause yet.",
                  note=f"As of {when(as_of)}: cases resolved or closed with a root cause at each wave's stores; "
                       f"each count lists its cases.")
    visible = visible_locations(user)
    stores_of = {}
    for wave_id, code in (WaveLocation.objects.filter(wave__in=waves, location__in=visible)
                          .values_list("wave_id", "location__code")):
        stores_of.setdefault(wave_id, []).append(code)
    # One query for every wave (a store is in one wave of a program): the board's queries do not grow with them.
    wave_of = "location__wave_memberships__wave"
    by_wave = {}
    for wave_id, cause, count in (
            pareto.with_root_cause(Case.objects.restrict(user)).filter(
                resolved_at__lt=as_of, location__in=visible, **{f"{wave_of}__in": waves})
            .values(wave_of, "root_cause").annotate(n=Count("pk")).order_by().values_list(wave_of, "root_cause", "n")):
        by_wave.setdefault(wave_id, {})[cause] = count
    for wave in waves:
        codes = stores_of.get(wave.pk, [])
        counts = by_wave.get(wave.pk, {})
        if not counts:
            continue
        table.rows.append(_counts_row(Cell(wave.name), counts, causes, codes, as_of))
    return table


def _counts_row(first, counts, causes, codes, as_of):
    """A row of a table by root cause: `first`, then each cause's count of resolved cases at the
    stores `codes` ({cause: count}) and their total, each count a link to its cases."""
    row = [first]
    for cause, _label in causes:
        count = counts.get(cause, 0)
        row.append(Cell(str(count), pareto.cases_link(codes, as_of, root_cause=cause) if count else "",
                        number=count))
    total = sum(counts.values())
    row.append(Cell(str(total), pareto.cases_link(codes, as_of), number=total))
    return row
