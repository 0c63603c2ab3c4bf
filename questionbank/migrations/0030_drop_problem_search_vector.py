"""PostgreSQL: drop ``questionbank_problem.search_vector`` and its GIN index
``problem_search_gin`` (0004), which nothing reads any more.

Searches have read the narrow side table ``questionbank_problem_search`` since 0011, and
0029 made its vector from the problem's text (``qb_problem_words``) instead of copying
this column. Each write of a problem still parsed its title and statement for the column
and updated its index: about 95 µs of ``to_tsvector`` per write at the bench's statement
lengths, and a GIN index over every problem. Reversing makes both again as 0004 did
(which rewrites the table), so 0029's reverse step finds the column it reads. SQLite has
neither. Frozen SQL (DESIGN.md, convention 13).
"""

import importlib

from django.db import migrations

SEARCH = importlib.import_module("questionbank.migrations.0004_browse_search")
TAGS = importlib.import_module("questionbank.migrations.0019_browse_plain_search_tags")

PG = [
    "DROP INDEX IF EXISTS problem_search_gin",
    "ALTER TABLE questionbank_problem DROP COLUMN IF EXISTS search_vector",
]


class Migration(migrations.Migration):

    dependencies = [
        ("questionbank", "0029_search_words_beside_cjk"),
    ]

    operations = [
        TAGS.VendorSQL("postgresql", PG, SEARCH.PG, elidable=False),
    ]
