"""Folding the ledger: quantities per location x SKU x state, recomputed from the lines.

The one definition of the book: the latest cycle count of a state (by count
time, then ledger id) sets it, and only lines that occurred after that count
move it further; a transfer_out's into-leg lands at its to_location.
"""
from __future__ import annotations

from django.db import connection

from controltower.db import db_time, values_clause

def book_sql(as_of=None, exclude_event_id=None, leg_scope=None):
    """The CTEs `legs`, `counts` and `book` (loc, sku, state, quantity): the
    fold as SQL, for a caller to select from or join (reconciliation joins
    millions of snapshot lines to it inside the database). Returns (sql,
    params).

    `as_of` keeps the lines that occurred at or before it; `leg_scope(column)`
    returns (" AND ...", params) restricting a leg's location column."""
    where, params = [], []
    if as_of is not None:
        where.append("e.occurred_at <= %s")
        params.append(db_time(as_of))
    if exclude_event_id is not None:
        where.append("e.id <> %s")
        params.append(exclude_event_id)
    where_sql = "".join(" AND " + clause for clause in where)
    here_scope, here_params = leg_scope("e.location_id") if leg_scope else ("", [])
    there_scope, there_params = leg_scope("e.to_location_id") if leg_scope else ("", [])
    # The into-leg lands at to_location when set, else at location. The two
    # cases are separate selects so each can use an index on its own column
    # (a scope on COALESCE(to_location_id, location_id) scans the whole ledger).
    sql = f"""
        legs AS (
            SELECT e.id, e.location_id AS loc, e.sku_id AS sku, e.from_state AS state,
                   -e.quantity AS delta, e.occurred_at AS at, 0 AS is_count
            FROM inventory_inventoryevent e
            WHERE e.from_state IS NOT NULL AND e.type <> 'cycle_count'{where_sql}{here_scope}
            UNION ALL
            SELECT e.id, e.location_id, e.sku_id, e.to_state, e.quantity, e.occurred_at,
                   CASE WHEN e.type = 'cycle_count' THEN 1 ELSE 0 END
            FROM inventory_inventoryevent e
            WHERE e.to_state IS NOT NULL AND e.to_location_id IS NULL{where_sql}{here_scope}
            UNION ALL
            SELECT e.id, e.to_location_id, e.sku_id, e.to_state, e.quantity, e.occurred_at,
                   CASE WHEN e.type = 'cycle_count' THEN 1 ELSE 0 END
            FROM inventory_inventoryevent e
            WHERE e.to_state IS NOT NULL AND e.to_location_id IS NOT NULL{where_sql}{there_scope}
        ),
        counts AS (
            SELECT loc, sku, state, delta AS quantity, at,
                   ROW_NUMBER() OVER (PARTITION BY loc, sku, state ORDER BY at DESC, id DESC) AS rn
            FROM legs WHERE is_count = 1
        ),
        book AS (
            SELECT l.loc, l.sku, l.state,
                   CAST(COALESCE(MAX(c.quantity), 0) + SUM(
                       CASE WHEN l.is_count = 0 AND (c.at IS NULL OR l.at > c.at) THEN l.delta ELSE 0 END
                   ) AS BIGINT) AS quantity
            FROM legs l
            LEFT JOIN counts c ON c.rn = 1 AND c.loc = l.loc AND c.sku = l.sku AND c.state = l.state
            GROUP BY l.loc, l.sku, l.state
        )
    """
    return sql, (params + here_params) * 2 + params + there_params


def fold_ledger(pairs=None, as_of=None, location_ids=None, exclude_event_id=None):
    """Quantities per (location, sku, state) recomputed from the ledger.

    `pairs` limits the fold to some (location, sku); `as_of` to lines that
    occurred at or before that time; `location_ids` to some locations.
    Returns {(location_id, sku_id, state): quantity}.
    """
    def leg_scope(location_column):
        clauses, scope_params = [], []
        if pairs is not None:
            values, values_params = values_clause(pairs, 2)
            clauses.append(f"({location_column}, e.sku_id) IN (VALUES {values})")
            scope_params += values_params
        if location_ids is not None:
            clauses.append(f"{location_column} IN ({', '.join(['%s'] * len(location_ids))})")
            scope_params += list(location_ids)
        return "".join(" AND " + c for c in clauses), scope_params

    ctes, params = book_sql(as_of=as_of, exclude_event_id=exclude_event_id, leg_scope=leg_scope)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {ctes} SELECT loc, sku, state, quantity FROM book", params)
        return {(loc, sku, state): int(qty) for loc, sku, state, qty in cursor.fetchall()}


def since_non_negative(keys, limit):
    """The ledger lines behind a negative quantity: for each (location, sku,
    state) in `keys`, the lines since its running quantity was last >= 0.

    The walk follows the fold: lines in the order they occurred (a count
    after the other lines of its instant, so it sets the state as the fold's
    latest count does and the lines at or before it no longer move it). A
    count is never negative, so the walk never goes back past the latest one.
    Returns {key: {"before": the quantity just before those lines, "lines":
    how many, "latest": their ids, latest first, at most `limit`, "deltas":
    {id: delta} of those}}; a key whose running quantity ends >= 0 is
    absent."""
    keys = set(keys)
    walked = {}
    pairs = sorted({(loc, sku) for loc, sku, _ in keys})
    for start in range(0, len(pairs), 400):  # SQLite's bound parameters per statement
        chunk = pairs[start:start + 400]

        def leg_scope(location_column, chunk=chunk):
            values, values_params = values_clause(chunk, 2)
            return f" AND ({location_column}, e.sku_id) IN (VALUES {values})", values_params

        ctes, params = book_sql(leg_scope=leg_scope)
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH {ctes} SELECT id, loc, sku, state, delta, is_count FROM legs "
                f"ORDER BY loc, sku, state, at, is_count, id",
                params,
            )
            for line_id, loc, sku, state, delta, is_count in cursor.fetchall():
                key = (loc, sku, state)
                if key not in keys:
                    continue
                walk = walked.setdefault(key, {"running": 0, "before": 0, "lines": []})
                delta = int(delta)
                if walk["running"] >= 0:  # the last non-negative point so far
                    walk["before"], walk["lines"] = walk["running"], []
                walk["running"] = delta if is_count else walk["running"] + delta
                if walk["running"] < 0 or walk["lines"]:
                    walk["lines"].append((line_id, delta))
    result = {}
    for key, walk in walked.items():
        if walk["running"] < 0:
            latest = walk["lines"][::-1][:limit]
            result[key] = {
                "before": walk["before"],  # the quantity when the walk starts, >= 0
                "lines": len(walk["lines"]),
                "latest": [line_id for line_id, _ in latest],
                "deltas": dict(latest),
            }
    return result

