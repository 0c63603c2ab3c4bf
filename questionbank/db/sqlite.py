"""SQLite's triggers as they are now, and the hook that puts them back after a migrate.

SQLite cannot alter most of a table in place: Django's schema editor copies it, drops
the old one and renames the copy, and the triggers on the old table go with it. So
after every ``migrate`` (``QuestionbankConfig.ready`` connects :func:`recreate_triggers`
to post_migrate) the triggers below are made again where missing, and what they keep
(the full-text index, the browse generation) is brought up to date.

The SQL is the same text the latest migration that made each object ran (frozen there;
``tests/db/test_sqlite.py`` compares the two), so a later change is a new migration
plus a change here. PostgreSQL alters tables in place and keeps its triggers.
"""

from __future__ import annotations

from django.db import connections

from questionbank.db.cjk import CJK_RANGES
from questionbank.db.published import PROBLEM_TABLE, SOLUTION_TABLE, solution_published
from questionbank.models import Problem, SolutionRevision, Tag

FTS_TABLE = "questionbank_problem_fts"
TAG_TABLE = Tag._meta.db_table
PROBLEM_TAGS_TABLE = Problem.tags.through._meta.db_table
REVISION_TABLE = SolutionRevision._meta.db_table
GENERATION_TABLE = "questionbank_browse_generation"
TOKENIZE = "porter unicode61 remove_diacritics 2"


def tag_names(problem_id: str) -> str:
    """SQL: the names of problem ``problem_id``'s tags, space-separated ('' if none)."""
    return (f"coalesce((SELECT group_concat(t.name, ' ') FROM {PROBLEM_TAGS_TABLE} pt "
            f"JOIN {TAG_TABLE} t ON t.id = pt.tag_id WHERE pt.problem_id = {problem_id}), '')")


# The GLOB bracket expression of questionbank.db.cjk's ranges, "[a-b...]", spelt with char()
# so the SQL stays ASCII (45 is "-", 91 "[" and 93 "]").
_CJK_GLOB = ("char(91, " + ", ".join(f"0x{a:04x}, 45, 0x{b:04x}" for a, b in CJK_RANGES)
             + ", 93)")


def has_cjk_sql(expr: str) -> str:
    """SQL: true when the text ``expr`` holds a CJK character."""
    return f"{expr} GLOB '*' || {_CJK_GLOB} || '*'"


def blank_cjk_sql(expr: str) -> str:
    """SQL: the text ``expr`` with every run of CJK characters replaced by a space, as
    questionbank.db.cjk.blank_cjk makes it in Python.

    A walk over the characters as in :func:`cjk_tokens_sql` (json_each over an array of
    length(text) zeros; group_concat joins them in that order): a CJK character is a
    space when the one before it is not CJK, else nothing. Only text that holds a CJK
    character takes it: the rest is the text itself."""
    char = "substr(d.x, j.key + 1, 1)"
    return (
        f"CASE WHEN {has_cjk_sql(expr)} THEN (SELECT group_concat(CASE WHEN {char} GLOB "
        f"{_CJK_GLOB} THEN CASE WHEN substr(d.x, j.key, 1) GLOB {_CJK_GLOB} THEN '' "
        f"ELSE ' ' END ELSE {char} END, '') FROM (SELECT {expr} AS x) AS d, "
        f"json_each('[' || replace(hex(zeroblob(length(d.x) - 1)), '00', '0,') || '0]') AS j) "
        f"ELSE {expr} END")


def _retag(problem_id: str) -> str:
    return (f"UPDATE {FTS_TABLE} SET tags = {blank_cjk_sql(tag_names(problem_id))} "
            f"WHERE rowid = {problem_id}")


# The search document: a plain FTS5 table holding its own copy of the title, statement and
# tag names (an external-content table cannot index a column its content table lacks),
# with their CJK runs blanked (blank_cjk_sql, migration 0029: the CJK table below indexes
# those); questionbank.browse.search puts its highlight()'s marks back on the text.
FTS_TABLE_SQL = (f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(title, statement, tags, "
                 f"tokenize='{TOKENIZE}')")
FTS_FILL = [
    f"DELETE FROM {FTS_TABLE}",
    f"INSERT INTO {FTS_TABLE}(rowid, title, statement, tags) "
    f"SELECT p.id, {blank_cjk_sql('p.title')}, {blank_cjk_sql('p.statement')}, "
    f"{blank_cjk_sql(tag_names('p.id'))} FROM {PROBLEM_TABLE} p",
]
FTS_TRIGGERS = {
    "qb_problem_fts_ai": (
        f"CREATE TRIGGER qb_problem_fts_ai AFTER INSERT ON {PROBLEM_TABLE} BEGIN "
        f"INSERT INTO {FTS_TABLE}(rowid, title, statement, tags) "
        f"VALUES (new.id, {blank_cjk_sql('new.title')}, {blank_cjk_sql('new.statement')}, "
        f"{blank_cjk_sql(tag_names('new.id'))}); END"),
    "qb_problem_fts_ad": (
        f"CREATE TRIGGER qb_problem_fts_ad AFTER DELETE ON {PROBLEM_TABLE} BEGIN "
        f"DELETE FROM {FTS_TABLE} WHERE rowid = old.id; END"),
    "qb_problem_fts_au": (
        f"CREATE TRIGGER qb_problem_fts_au AFTER UPDATE OF title, statement ON "
        f"{PROBLEM_TABLE} BEGIN UPDATE {FTS_TABLE} SET title = {blank_cjk_sql('new.title')}, "
        f"statement = {blank_cjk_sql('new.statement')} WHERE rowid = new.id; END"),
    "qb_problem_tags_fts_ai": (
        f"CREATE TRIGGER qb_problem_tags_fts_ai AFTER INSERT ON {PROBLEM_TAGS_TABLE} "
        f"BEGIN {_retag('new.problem_id')}; END"),
    "qb_problem_tags_fts_ad": (
        f"CREATE TRIGGER qb_problem_tags_fts_ad AFTER DELETE ON {PROBLEM_TAGS_TABLE} "
        f"BEGIN {_retag('old.problem_id')}; END"),
    "qb_problem_tags_fts_au": (
        f"CREATE TRIGGER qb_problem_tags_fts_au AFTER UPDATE ON {PROBLEM_TAGS_TABLE} "
        f"BEGIN {_retag('old.problem_id')}; {_retag('new.problem_id')}; END"),
    "qb_tag_fts_au": (
        f"CREATE TRIGGER qb_tag_fts_au AFTER UPDATE OF name ON {TAG_TABLE} BEGIN "
        f"UPDATE {FTS_TABLE} SET tags = {blank_cjk_sql(tag_names(f'{FTS_TABLE}.rowid'))} "
        f"WHERE rowid IN "
        f"(SELECT problem_id FROM {PROBLEM_TAGS_TABLE} WHERE tag_id = new.id); END"),
}

# Chinese, Japanese and Korean text (questionbank.db.cjk): a second FTS5 table holding each
# problem's CJK characters and character pairs as tokens, "三 三角 角 角形 形", in the
# same three columns; other text is left out (the table above indexes it).
CJK_TABLE = "questionbank_problem_cjk"


def cjk_tokens_sql(expr: str) -> str:
    """SQL: the CJK tokens of the text ``expr`` ('' if it has none), as
    questionbank.db.cjk.cjk_tokens makes them in Python.

    Triggers cannot use a recursive WITH, so the characters' offsets come from
    json_each over an array of length(text) + 1 zeros (hex(zeroblob(n)) is n "00"s);
    group_concat joins the tokens in that order. Text without any CJK character is
    skipped by the GLOB before any of it. substr() walks UTF-8 from the start: the work
    grows with the square of a statement's length (about 50 ms at 5,000 characters).
    """
    char = "substr(d.x, j.key + 1, 1)"
    return (
        f"CASE WHEN {has_cjk_sql(expr)} THEN (SELECT group_concat({char} || "
        f"CASE WHEN substr(d.x, j.key + 2, 1) GLOB {_CJK_GLOB} "
        f"THEN ' ' || substr(d.x, j.key + 1, 2) ELSE '' END, ' ') "
        f"FROM (SELECT {expr} AS x) AS d, "
        f"json_each('[' || replace(hex(zeroblob(length(d.x))), '00', '0,') || '0]') AS j "
        f"WHERE {char} GLOB {_CJK_GLOB}) ELSE '' END")


def _cjk_retag(problem_id: str) -> str:
    return (f"UPDATE {CJK_TABLE} SET tags = {cjk_tokens_sql(tag_names(problem_id))} "
            f"WHERE rowid = {problem_id}")


CJK_TABLE_SQL = (f"CREATE VIRTUAL TABLE {CJK_TABLE} USING fts5(title, statement, tags, "
                 "tokenize='unicode61')")
CJK_FILL = [
    f"DELETE FROM {CJK_TABLE}",
    f"INSERT INTO {CJK_TABLE}(rowid, title, statement, tags) "
    f"SELECT p.id, {cjk_tokens_sql('p.title')}, {cjk_tokens_sql('p.statement')}, "
    f"{cjk_tokens_sql(tag_names('p.id'))} FROM {PROBLEM_TABLE} p",
]
CJK_TRIGGERS = {
    "qb_problem_cjk_ai": (
        f"CREATE TRIGGER qb_problem_cjk_ai AFTER INSERT ON {PROBLEM_TABLE} BEGIN "
        f"INSERT INTO {CJK_TABLE}(rowid, title, statement, tags) "
        f"VALUES (new.id, {cjk_tokens_sql('new.title')}, {cjk_tokens_sql('new.statement')}, "
        f"{cjk_tokens_sql(tag_names('new.id'))}); END"),
    "qb_problem_cjk_ad": (
        f"CREATE TRIGGER qb_problem_cjk_ad AFTER DELETE ON {PROBLEM_TABLE} BEGIN "
        f"DELETE FROM {CJK_TABLE} WHERE rowid = old.id; END"),
    "qb_problem_cjk_au": (
        f"CREATE TRIGGER qb_problem_cjk_au AFTER UPDATE OF title, statement ON "
        f"{PROBLEM_TABLE} BEGIN UPDATE {CJK_TABLE} SET title = {cjk_tokens_sql('new.title')}, "
        f"statement = {cjk_tokens_sql('new.statement')} WHERE rowid = new.id; END"),
    "qb_problem_tags_cjk_ai": (
        f"CREATE TRIGGER qb_problem_tags_cjk_ai AFTER INSERT ON {PROBLEM_TAGS_TABLE} "
        f"BEGIN {_cjk_retag('new.problem_id')}; END"),
    "qb_problem_tags_cjk_ad": (
        f"CREATE TRIGGER qb_problem_tags_cjk_ad AFTER DELETE ON {PROBLEM_TAGS_TABLE} "
        f"BEGIN {_cjk_retag('old.problem_id')}; END"),
    "qb_problem_tags_cjk_au": (
        f"CREATE TRIGGER qb_problem_tags_cjk_au AFTER UPDATE ON {PROBLEM_TAGS_TABLE} "
        f"BEGIN {_cjk_retag('old.problem_id')}; {_cjk_retag('new.problem_id')}; END"),
    "qb_tag_cjk_au": (
        f"CREATE TRIGGER qb_tag_cjk_au AFTER UPDATE OF name ON {TAG_TABLE} BEGIN "
        f"UPDATE {CJK_TABLE} SET tags = {cjk_tokens_sql(tag_names(f'{CJK_TABLE}.rowid'))} "
        f"WHERE rowid IN (SELECT problem_id FROM {PROBLEM_TAGS_TABLE} WHERE tag_id = new.id); "
        "END"),
}

# The browse generation (questionbank.browse.cache): bumped by any write students see.
_BUMP = f"UPDATE {GENERATION_TABLE} SET n = n + 1 WHERE id = 1"


def _bump_trigger(table: str, op: str, when: str = "") -> tuple[str, str]:
    name = f"qb_browse_{table}_{op[0].lower()}"
    when = f" WHEN {when}" if when else ""
    return name, f"CREATE TRIGGER {name} AFTER {op} ON {table}{when} BEGIN {_BUMP}; END"


GENERATION_TRIGGERS = dict([
    *(_bump_trigger(table, op) for table in (PROBLEM_TABLE, TAG_TABLE, PROBLEM_TAGS_TABLE)
      for op in ("INSERT", "UPDATE", "DELETE")),
    _bump_trigger(SOLUTION_TABLE, "INSERT", solution_published("NEW")),
    _bump_trigger(SOLUTION_TABLE, "UPDATE",
                  f"{solution_published('OLD')} OR {solution_published('NEW')}"),
    _bump_trigger(SOLUTION_TABLE, "DELETE", solution_published("OLD")),
    # A published explanation's HTML rewritten in place (revisions are otherwise
    # append-only, and a new one moves its solution's current_revision: bumped above).
    _bump_trigger(REVISION_TABLE, "UPDATE",
                  f"EXISTS (SELECT 1 FROM {SOLUTION_TABLE} s WHERE s.id = NEW.solution_id "
                  f"AND {solution_published('s')})"),
])


def recreate_triggers(sender, using: str = "default", **kwargs) -> None:
    """post_migrate receiver: on SQLite, make the missing triggers again and bring what
    they keep up to date (refill the search index; move the browse generation on, so no
    page cached while a trigger was missing is served). Objects whose migration has not
    run (a migrate to an earlier state) are left alone."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT type, name, sql FROM sqlite_master "
                       "WHERE type IN ('table', 'trigger')")
        present = {name: sql for _, name, sql in cursor.fetchall()}
        fts = present.get(FTS_TABLE) or ""
        if "tags" in fts:  # the search document with tags (migration 0020) exists
            missing = [sql for name, sql in FTS_TRIGGERS.items() if name not in present]
            for sql in missing:
                cursor.execute(sql)
            if missing:
                for sql in FTS_FILL:
                    cursor.execute(sql)
        if CJK_TABLE in present:  # the CJK index (migration 0024) exists
            missing = [sql for name, sql in CJK_TRIGGERS.items() if name not in present]
            for sql in missing:
                cursor.execute(sql)
            if missing:
                for sql in CJK_FILL:
                    cursor.execute(sql)
        if GENERATION_TABLE in present:
            missing = [sql for name, sql in GENERATION_TRIGGERS.items()
                       if name not in present]
            for sql in missing:
                cursor.execute(sql)
            if missing:
                cursor.execute(_BUMP)
