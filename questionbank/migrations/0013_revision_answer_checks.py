"""Answer checks kept per revision; at most one published solution per problem.

Frozen data steps (no application code): where a problem had several published
solutions, the one students saw (best mark first, then the newest publication, as the
students' page chose) stays published and the others go back to draft, each with a
recorded transition saying why. The current revision of every solution takes the
solution's checked answer. The partial unique constraint follows in 0014, in its own
transaction (PostgreSQL refuses to alter a table with pending trigger events).
"""

from django.conf import settings
import django.utils.timezone
from django.db import migrations, models


def one_published_per_problem(apps, schema_editor):
    Solution = apps.get_model("questionbank", "Solution")
    SolutionTransition = apps.get_model("questionbank", "SolutionTransition")
    now = django.utils.timezone.now()
    published = (Solution.objects.filter(status="published")
                 .order_by("problem_id", "-is_best", "-published_at", "-id")
                 .values_list("pk", "problem_id"))
    kept = {}
    for pk, problem_id in published:
        if problem_id not in kept:
            kept[problem_id] = pk
            continue
        Solution.objects.filter(pk=pk).update(status="draft", status_changed_at=now,
                                              status_changed_by=None)
        SolutionTransition.objects.create(
            solution_id=pk, source="published", target="draft",
            reason=f"Only one explanation per problem is published: students were shown "
                   f"solution {kept[problem_id]}, so this one went back to draft.")


def backfill_revision_checks(apps, schema_editor):
    Solution = apps.get_model("questionbank", "Solution")
    SolutionRevision = apps.get_model("questionbank", "SolutionRevision")
    rows = Solution.objects.exclude(current_revision=None).values_list(
        "current_revision_id", "final_answer", "verdict", "majority_share", "updated_at",
        "problem__reference_answer")
    for revision_id, answer, verdict, share, at, reference in rows.iterator():
        SolutionRevision.objects.filter(pk=revision_id).update(
            final_answer=answer, verdict=verdict, agreement=share, checked_at=at,
            reference_answer=reference)


class Migration(migrations.Migration):

    dependencies = [
        ('questionbank', '0012_browse_problem_pages'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='solutionrevision',
            name='agreement',
            field=models.FloatField(blank=True, help_text="Share of the problem's candidates with an equivalent answer, last checked.", null=True),
        ),
        migrations.AddField(
            model_name='solutionrevision',
            name='checked_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='solutionrevision',
            name='final_answer',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='solutionrevision',
            name='final_answer_by_teacher',
            field=models.BooleanField(default=False, help_text="A teacher typed the final answer; otherwise it was taken from the text (the last \\boxed{…} or 'Final answer: …')."),
        ),
        migrations.AddField(
            model_name='solutionrevision',
            name='reference_answer',
            field=models.TextField(blank=True, help_text="The problem's reference answer when this text was checked."),
        ),
        migrations.AddField(
            model_name='solutionrevision',
            name='verdict',
            field=models.CharField(choices=[('agrees', 'Agrees with the reference'), ('disagrees', 'Disagrees with the reference'), ('unchecked', 'Could not check'), ('not_checked', 'Not checked')], default='not_checked', max_length=20),
        ),
        migrations.AlterField(
            model_name='solution',
            name='is_best',
            field=models.BooleanField(default=False, help_text="The best candidate among all of the problem's current solutions (the first of the largest group of equivalent answers). It suggests; students see only the published solution."),
        ),
        migrations.AlterField(
            model_name='solution',
            name='majority_share',
            field=models.FloatField(blank=True, help_text="Share of the problem's current candidates whose answer is equivalent.", null=True),
        ),
        migrations.RunPython(one_published_per_problem, migrations.RunPython.noop),
        migrations.RunPython(backfill_revision_checks, migrations.RunPython.noop),
    ]
