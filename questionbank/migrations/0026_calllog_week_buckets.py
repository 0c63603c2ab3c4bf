"""Week buckets (Monday 00:00 UTC) for the call-log statistics, so a month's statistics read
about four weeks instead of thirty days (issue 14). Built here from the day buckets, which
hold the same figures; new rows are counted in their week by ``calllog_stats_add``.

Frozen code: the figures are added up here, not with services/calllog_stats.py.
"""

from collections import Counter
from datetime import timedelta

from django.db import migrations

FIGURES = ("calls", "errors", "tokens", "generation_ms")


def weeks_from_days(apps, schema_editor):
    stat_model = apps.get_model("questionbank", "CallLogStat")
    weeks: dict = {}
    days = stat_model.objects.filter(span="day").order_by("start").iterator(chunk_size=2000)
    for day in days:
        start = day.start - timedelta(days=day.start.weekday())
        week = weeks.setdefault((start, day.dimension, day.key), {
            **dict.fromkeys(FIGURES, 0), "latencies": Counter(), "error_classes": Counter()})
        for name in FIGURES:
            week[name] += getattr(day, name)
        week["latencies"].update(day.latencies)
        week["error_classes"].update(day.error_classes)
    stat_model.objects.filter(span="week").delete()
    stat_model.objects.bulk_create(
        (stat_model(span="week", start=start, dimension=dimension, key=key,
                    **{name: figures[name] for name in FIGURES},
                    latencies=dict(figures["latencies"]),
                    error_classes=dict(figures["error_classes"]))
         for (start, dimension, key), figures in weeks.items()),
        batch_size=2000)


def drop_weeks(apps, schema_editor):
    apps.get_model("questionbank", "CallLogStat").objects.filter(span="week").delete()


class Migration(migrations.Migration):
    dependencies = [("questionbank", "0025_i18n_verbose_names")]

    operations = [migrations.RunPython(weeks_from_days, drop_weeks)]
