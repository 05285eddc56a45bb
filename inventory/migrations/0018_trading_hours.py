# Trading hours and holidays, once the models of the cases app (its 0016 renamed the
# tables): state only, the rows stay where they are.

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0017_rejection_dismissal_master_data_changes'),
        ('exceptions', '0016_trading_hours_to_inventory'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Holiday',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('date', models.DateField()),
                        ('name', models.CharField(max_length=100)),
                        ('location', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, to='inventory.location')),
                        ('region', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, to='inventory.region')),
                    ],
                    options={
                        'ordering': ['date'],
                    },
                ),
                migrations.CreateModel(
                    name='TradingHours',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('location_kind', models.CharField(blank=True, help_text='Default for this kind of location', max_length=16)),
                        ('weekday', models.PositiveSmallIntegerField(help_text='0 = Monday', validators=[django.core.validators.MaxValueValidator(6)])),
                        ('opens', models.TimeField()),
                        ('closes', models.TimeField()),
                        ('location', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, to='inventory.location')),
                        ('region', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, to='inventory.region')),
                    ],
                    options={
                        'verbose_name_plural': 'trading hours',
                        'ordering': ['weekday', 'opens'],
                    },
                ),
            ],
        ),
    ]
