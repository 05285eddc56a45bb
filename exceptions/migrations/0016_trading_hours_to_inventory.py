# Trading hours and holidays are the locations' master data: they move to
# inventory (inventory 0018 takes them into its state), their tables renamed,
# their rows kept.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('exceptions', '0015_history_once_and_adjustment_reason'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable(name='tradinghours', table='inventory_tradinghours'),
                migrations.AlterModelTable(name='holiday', table='inventory_holiday'),
            ],
            state_operations=[
                migrations.DeleteModel(name='TradingHours'),
                migrations.DeleteModel(name='Holiday'),
            ],
        ),
    ]
