"""Projection drift goes to integration (IT): positions that differ from the
ledger are the tower's own data, not a store's. Without a rule of its kind a
severity-1 case would go to regional ops (the default severity-1 rule). The
SLA is the default severity-1 policy (the case has no location, so its clock
runs around the clock)."""
from django.db import migrations

RULES = [("projection_drift", None, "INTEGRATION", 100)]


def load(apps, schema_editor):
    Team = apps.get_model("exceptions", "Team")
    RoutingRule = apps.get_model("exceptions", "RoutingRule")
    for kind, severity, team_code, priority in RULES:
        team = Team.objects.filter(code=team_code).first()
        if team is None:  # a database whose teams were changed: leave its routing to its admins
            continue
        RoutingRule.objects.get_or_create(kind=kind, severity=severity, region=None,
                                          defaults={"team": team, "priority": priority})


def unload(apps, schema_editor):
    RoutingRule = apps.get_model("exceptions", "RoutingRule")
    for kind, severity, team_code, priority in RULES:
        RoutingRule.objects.filter(kind=kind, severity=severity, region=None, team__code=team_code,
                                   priority=priority).delete()


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0007_adjustment_resolution_decision_note")]

    operations = [migrations.RunPython(load, unload)]
