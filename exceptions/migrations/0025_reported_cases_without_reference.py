"""A reported issue's category was also its reference, so the case page said
it twice: it is one of the case's details only."""
from django.db import migrations


def clear_reference(apps, schema_editor):
    Case = apps.get_model("exceptions", "Case")
    Case.objects.filter(kind="reported").update(reference="")


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0024_case_location_status_root_causes")]
    operations = [migrations.RunPython(clear_reference, migrations.RunPython.noop)]
