"""Default teams, routing rules, SLA policies and trading week.

Stores trade Mon-Sat 08:00-20:00 and Sun 10:00-16:00; DCs and ecommerce
nodes have no hours, so their clock runs around the clock."""
from datetime import time

from django.db import migrations

TEAMS = [
    ("STORE-OPS", "Store operations", "store", "store-ops@example.com"),
    ("REGIONAL-OPS", "Regional operations", "regional_ops", "regional-ops@example.com"),
    ("PLANNING", "Planning", "planning", "planning@example.com"),
    ("FINANCE", "Finance", "finance", "finance@example.com"),
    ("INTEGRATION", "Integration", "integration", "integration@example.com"),
    ("COMMAND-CENTER", "Hypercare command center", "command_center", "hypercare@example.com"),
]

# (kind, severity, team code, priority); "" / None = any.
RULES = [
    ("", None, "STORE-OPS", 100),
    ("", 1, "REGIONAL-OPS", 50),
    ("snapshot_mismatch", None, "PLANNING", 100),
    ("financial_variance", None, "FINANCE", 100),
    ("sales_posting_gap", None, "FINANCE", 100),
    ("stale_feed", None, "INTEGRATION", 100),
    ("master_data_rejections", None, "INTEGRATION", 100),
    ("idempotency_conflict", None, "INTEGRATION", 100),
]

# severity -> (response, resolution) in trading-hours minutes.
SLA = {1: (30, 240), 2: (60, 480), 3: (240, 1440), 4: (480, 2880)}

STORE_WEEK = [(day, time(8), time(20)) for day in range(6)] + [(6, time(10), time(16))]


def load(apps, schema_editor):
    load_routing(apps)
    load_trading_week(apps.get_model("exceptions", "TradingHours"))


def load_routing(apps):
    Team = apps.get_model("exceptions", "Team")
    RoutingRule = apps.get_model("exceptions", "RoutingRule")
    SLAPolicy = apps.get_model("exceptions", "SLAPolicy")
    teams = {}
    for code, name, kind, email in TEAMS:
        teams[code], _ = Team.objects.get_or_create(code=code, defaults={"name": name, "kind": kind, "email": email})
    for kind, severity, team, priority in RULES:
        RoutingRule.objects.create(kind=kind, severity=severity, team=teams[team], priority=priority)
    for severity, (response, resolution) in SLA.items():
        SLAPolicy.objects.create(
            kind="", severity=severity, response_minutes=response, resolution_minutes=resolution
        )


def load_trading_week(TradingHours):
    """The stores' week (TradingHours is the cases app's model here; inventory's since exceptions 0016)."""
    for weekday, opens, closes in STORE_WEEK:
        TradingHours.objects.create(location_kind="store", weekday=weekday, opens=opens, closes=closes)


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
