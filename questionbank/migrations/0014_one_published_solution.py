"""At most one published solution per problem, enforced by the database (see 0013)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("questionbank", "0013_revision_answer_checks"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='solution',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'published')), fields=('problem',), name='one_published_solution_per_problem'),
        ),
    ]
