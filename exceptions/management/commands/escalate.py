from django.core.management.base import BaseCommand

from exceptions.services.sla import escalation_sweep


class Command(BaseCommand):
    help = "Warn, flag SLA breaches and escalate breached cases (what the 5-minute beat job runs)."

    def handle(self, *args, **options):
        counts = escalation_sweep()
        self.stdout.write(", ".join(f"{name}: {n}" for name, n in counts.items()))
