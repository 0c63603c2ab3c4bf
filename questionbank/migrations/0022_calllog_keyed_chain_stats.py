"""Issue 14, defect 6 and "Audit at a million rows": the call-log chain becomes keyed
(an HMAC on the chain head and on purge checkpoints), tamper checks run as background
tasks with a stored result, statistics are pre-aggregated per hour and day, and an hourly
django-q2 schedule writes the chain head to the application log (the anchor).

Existing rows keep their unkeyed hashes: re-chain them with ``manage.py rekey_call_log``
and fill the statistics with ``manage.py rebuild_call_log_stats`` (the start-up checks
questionbank.W023/W026 say so until done; README.md, "Tamper-evident call log").
"""

from django.db import migrations, models

ANCHOR_SCHEDULE_NAME = "questionbank: call-log anchor"  # frozen as written here


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=ANCHOR_SCHEDULE_NAME,
        defaults={"func": "questionbank.tasks.anchor_call_log", "schedule_type": "H",
                  "repeats": -1})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=ANCHOR_SCHEDULE_NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('questionbank', '0021_sampling_policy'),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.CreateModel(
            name='CallLogVerification',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('intact', 'Intact'), ('broken', 'Broken'), ('failed', 'Failed')], default='queued', max_length=10)),
                ('requested_by', models.CharField(blank=True, max_length=150)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('rows_total', models.PositiveBigIntegerField(default=0)),
                ('rows_checked', models.PositiveBigIntegerField(default=0)),
                ('first_broken_id', models.BigIntegerField(blank=True, null=True)),
                ('problem', models.CharField(blank=True, max_length=30)),
                ('message', models.TextField(blank=True)),
            ],
            options={
                'verbose_name': 'call-log verification',
                'ordering': ['-id'],
            },
        ),
        migrations.AddField(
            model_name='calllogchainhead',
            name='key_id',
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.AddField(
            model_name='calllogchainhead',
            name='mac',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='calllogcheckpoint',
            name='mac',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.CreateModel(
            name='CallLogStat',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('span', models.CharField(max_length=4)),
                ('start', models.DateTimeField()),
                ('dimension', models.CharField(max_length=8)),
                ('key', models.CharField(blank=True, max_length=100)),
                ('calls', models.PositiveBigIntegerField(default=0)),
                ('errors', models.PositiveBigIntegerField(default=0)),
                ('tokens', models.PositiveBigIntegerField(default=0)),
                ('generation_ms', models.PositiveBigIntegerField(default=0)),
                ('latencies', models.JSONField(default=dict)),
                ('error_classes', models.JSONField(default=dict)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('span', 'dimension', 'start', 'key'), name='calllogstat_bucket')],
            },
        ),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
