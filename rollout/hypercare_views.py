"""The hypercare dashboard's pages (rollout.hypercare builds them): the wave,
one region of it, one store, the store's SKUs and its channels, each at its
own URL so a link can be shared and Back works. `?format=csv&table=<name>`
on any of them downloads that table.

For the executive (who lands here), the PMO and the admin; a wave, region or
store out of the person's scope is not found (404) before another role is
refused (403), as on the rollout screens."""
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from controltower import rollups
from controltower.answers import NotInScope, not_found, refused
from controltower.csvsafe import csv_response
from controltower.navigation import allows, refusal
from controltower.scoping import visible_locations
from inventory.models import Region

from . import hypercare, root_causes, stability

def _page(view):
    """Answer NotInScope and bad input with a 404 naming what was not found, a role that may not watch with 403."""
    @login_required
    @require_GET
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (NotInScope, ValueError) as error:
            return not_found(request, error)
        except PermissionDenied:
            return refused(request, refusal("hypercare"))
    wrapped.__name__ = view.__name__
    return wrapped


def _may_watch(request):
    """After the lookups: what is out of scope is not found, whatever the role."""
    if not allows("hypercare", request.user):
        raise PermissionDenied


def _wave(request, pk):
    waves = hypercare.waves_for(request.user)
    wave = next((wave for wave in waves if wave.pk == pk), None)
    if wave is None:
        raise NotInScope(f"No wave #{pk} in your scope.")
    return waves, wave


def _store(request, wave, code):
    store = visible_locations(request.user).filter(code=code, wave_memberships__wave=wave) \
        .select_related("region").first()
    if store is None:
        raise NotInScope(f"No store {code} of {wave.name} in your scope.")
    return store


# The root causes' part of a hypercare page: read when it comes into view (htmx, hx-trigger
# "revealed"), so the page's own time is the live measures' only; ?part=root-causes without
# htmx shows the whole page with it.
ROOT_CAUSES_PART = root_causes.PART


def _answer(request, context, build, filename, root_causes_of=None):
    """The page, one of its tables as CSV, or its root causes' part. `build(charts)` makes the
    page's parts, `root_causes_of()` the root causes' (rollout.root_causes)."""
    _may_watch(request)
    part = root_causes_of is not None and request.GET.get("part") == ROOT_CAUSES_PART
    if part and request.htmx:
        return render(request, "rollout/_root_causes.html", {**context, **root_causes_of()})
    exporting = request.GET.get("format") == "csv"
    context.update(build(not exporting))
    if exporting:
        name = request.GET.get("table", "")
        tables = context["tables"]
        if root_causes_of is not None and not any(table.name == name for table in tables):
            tables = tables + root_causes_of()["root_cause_tables"]
        table = hypercare.table_named(tables, name)
        return csv_response(f"{filename}-{table.name}.csv", table.header, table.csv_rows())
    if part:
        context.update(root_causes_of())
    return render(request, "rollout/hypercare.html", {**context, "root_causes_part": ROOT_CAUSES_PART})


def _crumbs(wave, region=None, store=None, leaf=None):
    crumbs = [("Hypercare", reverse("hypercare")), (wave.name, reverse("hypercare-wave", args=[wave.pk]))]
    if region is not None:
        crumbs.append((f"Region {region.code}", reverse("hypercare-region", args=[wave.pk, region.code])))
    if store is not None:
        crumbs.append((f"{store.code} {store.name}", reverse("hypercare-location", args=[wave.pk, store.code])))
    if leaf is not None:
        crumbs.append((leaf, ""))
    return crumbs


@_page
def dashboard(request):
    """Where the executive lands: a verdict per live wave, the top problems, the KPIs of the wave that
    went live last, red first (rollout.stability); a wave's full page is one click away (?wave=, the picker)."""
    _may_watch(request)
    waves = hypercare.waves_for(request.user)
    if "wave" in request.GET:
        return redirect("hypercare-wave", hypercare.pick_wave(waves, request.GET["wave"]).pk)
    verdicts = stability.verdicts(request.user)
    live = [verdict.wave for verdict in verdicts]
    wave = hypercare.pick_wave(waves, None)
    day = rollups.last_day()
    return render(request, "rollout/hypercare_landing.html", {
        "waves": waves, "wave": wave, "verdicts": verdicts, "day": day,
        "problems": stability.top_problems(request.user, live),
        "kpis": stability.kpis(wave, day) if wave is not None else [],
        "sparkline_days": stability.SPARKLINE_DAYS,
    })


@_page
def wave_view(request, pk):
    waves, wave = _wave(request, pk)
    return _wave_answer(request, waves, wave)


def _wave_answer(request, waves, wave):
    context = {"waves": waves, "wave": wave, "level": "wave", "crumbs": _crumbs(wave)[:1]}
    return _answer(request, context, lambda charts: hypercare.wave_page(request.user, wave, charts=charts),
                   f"hypercare-wave-{wave.pk}",
                   lambda: root_causes.wave_section(request.user, wave, hypercare.wave_stores(wave, request.user)))


@_page
def region_view(request, pk, region):
    waves, wave = _wave(request, pk)
    found = Region.objects.filter(code=region).first()
    stores = hypercare.wave_stores(wave, request.user)
    if found is None or not any(store.region_id == found.pk for store in stores):
        raise NotInScope(f"No store of {wave.name} in a region {region} in your scope.")
    context = {"waves": waves, "wave": wave, "region": found, "level": "region", "crumbs": _crumbs(wave, found)}
    in_region = [store for store in stores if store.region_id == found.pk]
    return _answer(request, context,
                   lambda charts: hypercare.region_page(request.user, wave, found, charts=charts, stores=stores),
                   f"hypercare-wave-{wave.pk}-region-{found.code}",
                   lambda: root_causes.section(request.user, in_region))


@_page
def location_view(request, pk, code):
    waves, wave = _wave(request, pk)
    store = _store(request, wave, code)
    context = {"waves": waves, "wave": wave, "region": store.region, "store": store, "level": "location",
               "crumbs": _crumbs(wave, store.region, store)}
    return _answer(request, context, lambda charts: hypercare.location_page(request.user, wave, store, charts=charts),
                   f"hypercare-{store.code}", lambda: root_causes.section(request.user, [store]))


@_page
def skus_view(request, pk, code):
    waves, wave = _wave(request, pk)
    store = _store(request, wave, code)
    context = {"waves": waves, "wave": wave, "region": store.region, "store": store, "level": "skus",
               "crumbs": _crumbs(wave, store.region, store, "SKUs")}
    return _answer(request, context, lambda charts: hypercare.skus_page(store), f"hypercare-{store.code}-skus")


@_page
def channels_view(request, pk, code):
    waves, wave = _wave(request, pk)
    store = _store(request, wave, code)
    context = {"waves": waves, "wave": wave, "region": store.region, "store": store, "level": "channels",
               "crumbs": _crumbs(wave, store.region, store, "Channels")}
    return _answer(request, context, lambda charts: hypercare.channels_page(store), f"hypercare-{store.code}-channels")
