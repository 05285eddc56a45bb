"""What every reconciliation check shares: its settings, severity by money at
risk, money to the cent, rows of a raw query, local times and plain words."""
from __future__ import annotations

import math
from decimal import Context, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

from controltower.db import aware

LINEAGE_LIMIT = 50  # events named on one case; the details keep the full count


CENT = Decimal("0.01")


# Sums in SQL. Every ledger and snapshot line holds at most MAX_QUANTITY
# (1e9) units (inventory.fields), so a SUM of them cast to BIGINT (9.2e18)
# overflows only past 9.2 billion lines at one location x SKU x state;
# millions of lines sum to 1e15-1e16. Products that could come near the end
# of bigint (a difference x 100 for a percent) are computed as DECIMAL, and
# money (quantity x unit cost) is DECIMAL on PostgreSQL and REAL on SQLite,
# neither of which overflows.


def config(name):
    return settings.RECONCILIATION[name]


def severity_for_value(value):
    for threshold, severity in config("severity_by_value"):
        if value >= Decimal(threshold):
            return severity
    return 4


def money(value):
    """`value` to the cent. Computed from quantities x unit cost, it can have
    more digits than the default context's 28 (a position of 9e18 units at
    MAX_UNIT_COST): quantize with room for all of them, never raise. Finding
    bounds it to what Case.value_at_risk holds (exceptions.findings)."""
    value = Decimal(value or 0)
    if not value.is_finite():
        return value
    return value.quantize(CENT, context=Context(prec=max(28, value.adjusted() + 3)))


def fetch_rows(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def local_time(at, tz_name):
    return aware(at).astimezone(ZoneInfo(tz_name))


def to_decimal(value):
    return Decimal(str(value)) if value is not None else None


def plain_number(value):
    """2 for 2.0000, 0.5 for 0.5000 (no exponent)."""
    return format(to_decimal(value).normalize(), "f")


def anomaly(*, baseline, observed, score, threshold, window, series, numbers):
    """An anomaly case's details: what is normal (baseline), what was seen
    (observed), how unusual that is (score, against the threshold), over
    which window, in words a store manager reads; the series for its small
    chart ({"title", "values", "first", "last", "marked": [indexes],
    "baseline", "limit"}); and the numbers behind the words, for the API."""
    return {"anomaly": {"baseline": baseline, "observed": observed, "score": score, "threshold": threshold,
                        "window": window, "series": series, "numbers": numbers}}


def once_in(chance):
    """How often a chance comes up, in words: "about once in 4,300" (two significant figures)."""
    odds = 1 / chance
    return f"about once in {float(f'{odds:.2g}'):,.0f}"


def chance_words(log_p):
    """A tiny probability, from its natural logarithm, as people say it: "1 in 12,000"."""
    odds = math.exp(min(-log_p, 700))
    if odds >= 1e9:
        return f"less than 1 in {1e9:,.0f}"
    return f"1 in {odds:,.0f}"
