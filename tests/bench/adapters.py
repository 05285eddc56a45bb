"""The adapters section: each source format end to end into PostgreSQL,
beside the tower's own JSON on the same lines.

One gunicorn serves the run (as the ingest section's does). Each format is a
`Format`: it builds its documents over the bench estate (ingest.py's
stores and SKUs), says the tower's raw events those documents hold, and
names its endpoint. The section posts the documents to the format's
endpoint, then the same events as JSON to POST /api/v1/events (one request
per document, another source, so the keys are fresh for both), and reports
the items per second of each and their ratio to JSON (target: at least
half). A format is added by appending a `Format` to FORMATS.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import timedelta
from datetime import timezone as dt_timezone
from typing import Callable
from xml.sax.saxutils import escape

import orjson
from django.utils import timezone

from inventory import adapters
from inventory.models import SourceSystem

from . import ingest
from .epcis import EMPTY as EMPTY_EPCIS
from .epcis import EMPTY_XML as EMPTY_EPCIS_XML
from .epcis import epcis_documents, epcis_xml_documents

TARGET_RATIO = 0.5
NRF = "http://www.nrf-arts.org/IXRetail/namespace/"


@dataclass
class Format:
    name: str
    label: str
    unit: str  # what is counted: "line items", "events"
    path: str
    content_type: str
    # (items wanted, run id) -> (document bodies, the tower's raw events of each)
    build: Callable[[int, str], tuple[list[bytes], list[list[dict]]]]
    empty: bytes  # a document with nothing in it, to warm the workers up on


def poslog_documents(items, run, lines_per_document=1000, seed=11):
    """POSLog documents of ~`lines_per_document` sale and return lines each,
    in transactions of 1 to 12 items plus a tender line (ignored), at the
    bench stores, items by ItemID; and the events the adapter reads in them."""
    rng = random.Random(seed)
    day = timezone.now().astimezone(dt_timezone.utc) - timedelta(hours=2)
    bodies, events = [], []
    made, number = 0, 0
    poslog = adapters.get("poslog")
    while made < items:
        transactions, in_document = [], 0
        while in_document < lines_per_document and made + in_document < items:
            number += 1
            count = min(rng.randint(1, 12), items - made - in_document)
            store = ingest.location_code(rng.randrange(ingest.LOCATIONS))
            lines = []
            for line in range(1, count + 1):
                kind = "Return" if rng.random() < 0.03 else "Sale"
                sku = ingest.sku_code(int(ingest.SKUS * rng.random() ** 3))
                lines.append(
                    f"<LineItem><SequenceNumber>{line}</SequenceNumber><{kind} ItemType=\"Stock\">"
                    f"<ItemID>{escape(sku)}</ItemID><ExtendedAmount>2.50</ExtendedAmount>"
                    f"<Quantity>{rng.randint(1, 3)}</Quantity></{kind}></LineItem>"
                )
            lines.append(f"<LineItem><SequenceNumber>{count + 1}</SequenceNumber><Tender TenderType=\"Cash\">"
                         f"<Amount>{2.5 * count:.2f}</Amount></Tender></LineItem>")
            ended = day + timedelta(seconds=number)
            transactions.append(
                f"<Transaction><RetailStoreID>{store}</RetailStoreID><WorkstationID>{run}</WorkstationID>"
                f"<SequenceNumber>{number}</SequenceNumber><BusinessDayDate>{ended.date()}</BusinessDayDate>"
                f"<EndDateTime>{ended.isoformat()}</EndDateTime><OperatorID>{rng.randint(1, 40)}</OperatorID>"
                f"<RetailTransaction>{''.join(lines)}"
                f"<Total TotalType=\"TransactionGrandAmount\">{2.5 * count:.2f}</Total></RetailTransaction>"
                f"</Transaction>"
            )
            in_document += count
        made += in_document
        body = f'<POSLog xmlns="{NRF}">{"".join(transactions)}</POSLog>'.encode()
        bodies.append(body)
        events.append([item for item in poslog.events(poslog.parse(body)) if not isinstance(item, adapters.Ignored)])
    return bodies, events


FORMATS = [
    Format("poslog", "POSLog (POST /api/v1/poslog)", "line items", "/api/v1/poslog", "application/xml",
           poslog_documents, f'<POSLog xmlns="{NRF}"/>'.encode()),
    Format("epcis", "EPCIS 2.0 JSON-LD (POST /api/v1/epcis/capture)", "events", "/api/v1/epcis/capture",
           "application/ld+json", epcis_documents, EMPTY_EPCIS),
    Format("epcis-xml", "EPCIS 2.0 XML (POST /api/v1/epcis/capture)", "events", "/api/v1/epcis/capture",
           "application/xml", epcis_xml_documents, EMPTY_EPCIS_XML),
]


def _source(code):
    return SourceSystem.objects.get_or_create(code=code, defaults={"name": code, "kind": SourceSystem.Kind.POS})[0]


def adapters_section(items=20_000, workers=2, clients=2, formats=None):
    """Each format's documents, then the same events as JSON, through one
    gunicorn; items per second of each and their ratio."""
    ingest.require_postgres()
    ingest.ensure_master_data()
    ingest.vacuum_analyze()
    run = uuid.uuid4().hex[:8]
    wanted = [f for f in FORMATS if formats is None or f.name in formats]
    prepared = []
    for fmt in wanted:
        bodies, events = fmt.build(items, run)
        fmt_token = ingest.issue_token(_source(f"{ingest.PREFIX}{fmt.name.upper()}"))
        json_token = ingest.issue_token(_source(f"{ingest.PREFIX}{fmt.name.upper()}-JSON"))
        json_bodies = [orjson.dumps({"events": batch}) for batch in events]
        prepared.append((fmt, bodies, sum(len(batch) for batch in events), fmt_token, json_token, json_bodies))

    process, port = ingest.start_server(workers)
    rows = []
    try:
        for fmt, bodies, count, fmt_token, json_token, json_bodies in prepared:
            # Warm every worker up on both endpoints, off the clock.
            ingest.post_batches(port, json_token, [orjson.dumps({"events": []})] * (2 * workers), clients)
            ingest.post_batches(port, fmt_token, [fmt.empty] * (2 * workers), clients, fmt.path, fmt.content_type)
            json_seconds, json_counts = ingest.post_batches(port, json_token, json_bodies, clients)
            fmt_seconds, fmt_counts = ingest.post_batches(
                port, fmt_token, bodies, clients, fmt.path, fmt.content_type)
            json_rate = round(count / json_seconds)
            fmt_rate = round(count / fmt_seconds)
            rows.append({
                "format": fmt.name, "label": fmt.label, "unit": fmt.unit, "documents": len(bodies),
                "items": count, "bytes": sum(len(b) for b in bodies),
                "seconds": round(fmt_seconds, 2), "per_s": fmt_rate, "counts": fmt_counts,
                "json_seconds": round(json_seconds, 2), "json_per_s": json_rate, "json_counts": json_counts,
                "ratio_to_json": round(fmt_rate / json_rate, 3), "target_ratio": TARGET_RATIO,
            })
    finally:
        ingest.stop_server(process)
    return {"items": items, "workers": workers, "clients": clients, "formats": rows}


def adapters_table(result):
    lines = [f"adapters: ~{result['items']:,} items per format, {result['workers']} workers, "
             f"{result['clients']} clients; each beside the same events as JSON (POST /api/v1/events)"]
    for row in result["formats"]:
        verdict = "met" if row["ratio_to_json"] >= row["target_ratio"] else "NOT met"
        lines.append(f"  {row['label']:<44} {row['per_s']:>10,} {row['unit']}/s "
                     f"({row['items']:,} in {row['documents']} documents, {row['bytes'] / 1e6:,.1f} MB)")
        lines.append(f"  {'... the same events as JSON':<44} {row['json_per_s']:>10,} events/s")
        lines.append(f"  {'... ratio to JSON':<44} {row['ratio_to_json']:>10.1%} "
                     f"(target at least {row['target_ratio']:.0%}: {verdict})")
    return "\n".join(lines)
