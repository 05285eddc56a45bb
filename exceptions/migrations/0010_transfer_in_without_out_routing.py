"""A transfer received that was never shipped goes to integration: the
sender's transfer_out is missing from the ledger, most often a feed that
lost it. The other new kinds (beyond_reserved, fulfil_beyond_staged,
reservation_not_released, count_variance) are the store's and follow the
default rules."""
from django.db import migrations

RULES = [("transfer_in_without_out", None, "INTEGRATION", 100)]


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
    dependencies = [("exceptions", "0009_new_case_kinds")]

    operations = [migrations.RunPython(load, unload)]
