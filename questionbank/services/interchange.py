"""Importing problems from files and exporting them (formats: ``questionbank.interchange``).

``import_plan`` says what an import *would* do, row by row, and writes nothing.
``import_apply`` does it in one transaction: every planned row is written, or none is.
Rows with errors are never written; with ``strict=True`` their presence refuses the
whole file instead. Importing the same file twice changes nothing the second time:
rows are matched to existing problems by Moodle category path + external id (Moodle's
idnumbers are unique only within a category), else by ``Problem.content_hash`` (kind,
title and statement). A value the file leaves out or empty never overwrites one in the
bank. An "update" by external id that would change the type, the title and the
statement all at once is refused as a row error: it is another question that reuses the
idnumber. A row that matches nothing but has the title and category of an existing
problem is created by default and flagged "looks like problem #N"; the teacher may have
it update that problem instead (``update_similar``).

An imported general feedback (Moodle) or ``solution`` column becomes a **draft**
solution written by the importing teacher (``services.solutions.solution_create``),
never a published one: students see only what a teacher has reviewed, and the worked
solution the teacher already wrote in Moodle is kept instead of thrown away. It is added
only when no solution of that problem already has the same text, so re-importing does
not pile up copies. Without a user (the command run without ``--user``) feedback is not
imported, because a revision without an author would be shown as written by the model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Prefetch
from django.utils.translation import gettext, gettext_lazy

from questionbank import interchange
from questionbank.answers import extract_final_answer
from questionbank.interchange import FileRefused, ParseResult, ProblemData
from questionbank.models import Problem, Solution
from questionbank.services.cleaning import PROBLEM_PROMPT_FIELDS, clean_prompt_fields
from questionbank.services.problems import problem_create, problem_update
from questionbank.services.solutions import solution_create
from questionbank.stored_text import GENERAL_FEEDBACK, IMPORTED_FROM, SOLUTION_COLUMN, english

CREATE, UPDATE, SKIP, ERROR = "create", "update", "skip", "error"
# Serialises imports on PostgreSQL so two uploads of one file cannot both create rows.
_ADVISORY_LOCK = 0x51_42_49_4D  # "QBIM"
_CHANGE_LABELS = {
    "title": gettext_lazy("title"), "statement": gettext_lazy("statement"),
    "kind": gettext_lazy("kind"), "difficulty": gettext_lazy("difficulty"),
    "source": gettext_lazy("source"), "language": gettext_lazy("language"),
    "status": gettext_lazy("status"), "reference_solution": gettext_lazy("reference solution"),
    "reference_answer": gettext_lazy("reference answer"),
    "external_id": gettext_lazy("external id"), "test_cases": gettext_lazy("test cases"),
    "tags": gettext_lazy("new tags"), "draft solution": gettext_lazy("a new draft solution"),
    "accepted_answers": gettext_lazy("accepted answers"),
    "external_category": gettext_lazy("Moodle category"),
    "external_type": gettext_lazy("question type")}


@dataclass
class PlanRow:
    number: int
    label: str
    action: str
    title: str
    reason: str = ""
    problem_id: int | None = None
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    data: ProblemData | None = None
    add_solution: bool = False
    # An existing problem with the same title and category but other text (defect: a
    # question edited in Moodle without an idnumber came back as a duplicate).
    similar_id: int | None = None
    # True when the teacher chose to update ``similar_id`` rather than create.
    updates_similar: bool = False

    @property
    def change_labels(self) -> list[str]:
        return [str(_CHANGE_LABELS.get(name, name.replace("_", " "))) for name in self.changes]

    @property
    def makes_solutions_stale(self) -> bool:
        return any(name in Problem.VERSIONED_FIELDS for name in self.changes)


@dataclass
class ImportPlan:
    filename: str
    format: str
    encoding: str
    digest: str
    notes: list[str]
    rows: list[PlanRow]
    languages: list[str] = field(default_factory=list)
    language: str | None = None

    @property
    def format_label(self) -> str:
        return interchange.FORMATS[self.format]

    @property
    def encoding_label(self) -> str:
        return interchange.encoding_label(self.encoding)

    @property
    def similar(self) -> list[PlanRow]:
        return [row for row in self.rows if row.similar_id is not None]

    @property
    def counts(self) -> dict[str, int]:
        counts = {CREATE: 0, UPDATE: 0, SKIP: 0, ERROR: 0}
        for row in self.rows:
            counts[row.action] += 1
        return counts

    @property
    def errors(self) -> list[PlanRow]:
        return [row for row in self.rows if row.action == ERROR]

    @property
    def writes(self) -> int:
        return sum(1 for row in self.rows if row.action in (CREATE, UPDATE))


@dataclass
class ImportResult:
    plan: ImportPlan
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    solutions: int = 0

    def summary(self) -> str:
        counts = self.plan.counts
        parts = [gettext("%(n)d problem(s) created") % {"n": len(self.created)},
                 gettext("%(n)d updated") % {"n": len(self.updated)},
                 gettext("%(n)d unchanged") % {"n": counts[SKIP]}]
        if self.solutions:
            parts.append(gettext("%(n)d draft solution(s) added") % {"n": self.solutions})
        if counts[ERROR]:
            parts.append(gettext("%(n)d row(s) with errors not imported")
                         % {"n": counts[ERROR]})
        summary = gettext("%(parts)s.") % {"parts": gettext(", ").join(parts)}
        warned = [row for row in self.plan.rows if row.warnings and row.action in (CREATE,
                                                                                    UPDATE)]
        if warned:
            labels = [f"{row.label} ({'; '.join(w.rstrip('.。') for w in row.warnings)})"
                      for row in warned[:5]]
            listed = ", ".join(labels)
            if len(warned) > 5:
                listed = gettext("%(listed)s and %(n)d more") % {"listed": listed,
                                                                "n": len(warned) - 5}
            summary += " " + gettext(
                "Parts of %(n)d question(s) were not imported: %(listed)s.") % {
                    "n": len(warned), "listed": listed}
        return summary


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _parse(data: bytes, *, filename: str, format: str | None,
           language: str | None) -> ParseResult:
    return interchange.parse_file(data, filename=filename, format=format,
                                  max_bytes=settings.QB_IMPORT_MAX_BYTES, language=language,
                                  site_language=settings.LANGUAGE_CODE)


def import_plan(*, data: bytes, filename: str = "", format: str | None = None,
                with_solutions: bool = True, language: str | None = None,
                update_similar: Iterable[int] = ()) -> ImportPlan:
    """What importing this file would create, update and skip, with every row's error.

    Reads only. Raises ``interchange.FileRefused`` (a sentence for the teacher) when the
    file as a whole cannot be used: too large, undecodable, malformed, unsafe XML.
    ``language`` picks the language kept from multi-language text (default: the site's,
    else the file's first); ``update_similar`` holds the row numbers whose "looks like
    problem #N" match should be updated rather than created anew.
    """
    parsed = _parse(data, filename=filename, format=format, language=language)
    return _plan(parsed, filename=filename, digest=file_digest(data),
                 with_solutions=with_solutions, update_similar=set(update_similar))


def import_apply(*, data: bytes, filename: str = "", format: str | None = None, user=None,
                 strict: bool = False, expected_digest: str | None = None,
                 language: str | None = None,
                 update_similar: Iterable[int] = ()) -> ImportResult:
    """Import the file in one transaction (all planned rows or none) and say what changed.

    The plan is recomputed inside the transaction, so what is written matches the
    database at that moment. ``expected_digest`` (from the preview) refuses a file that
    changed since it was previewed. ``strict`` refuses the file if any row has an error.
    ``language`` and ``update_similar`` are the preview's choices (see ``import_plan``).
    """
    digest = file_digest(data)
    if expected_digest is not None and digest != expected_digest:
        raise FileRefused(gettext("The file changed since the preview. Upload it again."))
    parsed = _parse(data, filename=filename, format=format, language=language)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK])
        plan = _plan(parsed, filename=filename, digest=digest, with_solutions=user is not None,
                     update_similar=set(update_similar))
        if strict and plan.errors:
            raise FileRefused(gettext(
                "%(n)d row(s) have errors, so nothing was imported (first: %(label)s: "
                "%(reason)s). Fix them and import again, or import without strict mode to skip "
                "them.") % {"n": len(plan.errors), "label": plan.errors[0].label,
                            "reason": plan.errors[0].reason})
        result = ImportResult(plan=plan)
        for row in plan.rows:
            if row.action == CREATE:
                problem = problem_create(created_by=user, tags=row.data.tags,
                                         **row.data.problem_fields())
                result.created.append(problem.pk)
            elif row.action == UPDATE:
                problem = Problem.objects.get(pk=row.problem_id)
                fields = {k: v for k, v in row.data.problem_fields().items()
                          if getattr(problem, k) != v}
                tags = None
                if "tags" in row.changes:
                    tags = [*problem.tags.all(), *row.data.tags]
                problem = problem_update(problem=problem, tags=tags, **fields)
                result.updated.append(problem.pk)
            else:
                continue
            if row.add_solution:
                _add_solution(problem=problem, data=row.data, user=user, fmt=plan.format)
                result.solutions += 1
    return result


def _add_solution(*, problem: Problem, data: ProblemData, user, fmt: str) -> Solution:
    what = GENERAL_FEEDBACK if fmt in ("moodle", "gift") else SOLUTION_COLUMN
    return solution_create(
        problem=problem, body=data.solution, author=user,
        note=english(IMPORTED_FROM, format=interchange.FORMATS[fmt], what=what),
        problem_version=problem.version,
        final_answer=extract_final_answer(data.solution) or "",
    )


def _plan(parsed: ParseResult, *, filename: str, digest: str, with_solutions: bool,
          update_similar: set[int] = frozenset()) -> ImportPlan:
    rows: list[PlanRow] = [
        PlanRow(number=e.number, label=e.label, action=ERROR, title=e.title, reason=e.reason)
        for e in parsed.errors
    ]
    problems = parsed.problems
    bank = _Candidates(problems)
    claimed: dict[int, str] = {}
    notes = list(parsed.notes)
    if not with_solutions and any(p.solution for p in problems):
        notes.append(gettext("General feedback / solutions in the file are not imported: they "
                             "are added as drafts only when a teacher runs the import."))
    for data in problems:
        row = PlanRow(number=data.number, label=data.label, action=CREATE, title=data.title,
                      warnings=list(data.warnings), data=data)
        existing = bank.by_id(data)
        if existing is not None and _is_another_question(existing, data):
            row.action, row.problem_id = ERROR, existing.pk
            row.reason = gettext(
                "its %(id)s belongs to problem #%(number)s “%(title)s”, but this question "
                "differs in type, title and statement, so it was not imported over it. If it "
                "is a different question, give it its own idnumber (or another category); if "
                "it really replaces #%(number)s, edit #%(number)s in the bank"
            ) % {"id": _id_words(data), "number": existing.pk, "title": existing.title}
            rows.append(row)
            continue
        if existing is None:
            existing = bank.by_hash.get(_hash(data))
            if existing is not None and data.external_id and existing.external_id \
                    and existing.external_id != data.external_id:
                row.action, row.problem_id = SKIP, existing.pk
                row.reason = gettext("the same problem already exists (#%(number)s) with "
                                     "another external id, “%(id)s”") % {
                    "number": existing.pk, "id": existing.external_id}
                rows.append(row)
                continue
        if existing is None:
            similar = bank.similar(data)
            if similar is not None and similar.pk not in claimed:
                row.similar_id = similar.pk
                if data.number in update_similar:
                    existing, row.updates_similar = similar, True
        if existing is not None:
            if existing.pk in claimed:
                row.action = ERROR
                row.reason = gettext("matches the same existing problem (#%(number)s) as "
                                     "%(other)s") % {"number": existing.pk,
                                                     "other": claimed[existing.pk].lower()}
                rows.append(row)
                continue
            claimed[existing.pk] = data.label
            row.problem_id = existing.pk
            row.changes = _changes(existing, data)
            row.add_solution = with_solutions and bool(data.solution) and not any(
                s.current_revision and s.current_revision.body.strip() == data.solution
                for s in existing.import_solutions
            )
            if row.add_solution:
                row.changes.append("draft solution")
            row.action = UPDATE if row.changes else SKIP
            if row.action == SKIP:
                row.reason = gettext("unchanged: already in the bank as #%(number)s") % {
                    "number": existing.pk}
            if "statement" in row.changes and \
                    len(data.statement) < 0.8 * len(existing.statement.strip()):
                row.warnings.append(
                    gettext("the statement would shrink from %(old)s to %(new)s characters; "
                            "check that nothing was cut off.")
                    % {"old": len(existing.statement.strip()), "new": len(data.statement)})
        else:
            row.add_solution = with_solutions and bool(data.solution)
        rows.append(row)
    rows.sort(key=lambda r: r.number)
    return ImportPlan(filename=filename, format=parsed.format, encoding=parsed.encoding,
                      digest=digest, notes=notes, rows=rows, languages=parsed.languages,
                      language=parsed.language)


class _Candidates:
    """The existing problems a file's rows may match, loaded in one query."""

    def __init__(self, problems: list[ProblemData]):
        ext_ids = {p.external_id for p in problems if p.external_id}
        hashes = {_hash(p) for p in problems}
        titles = {p.title for p in problems}
        solutions = Prefetch("solutions", queryset=Solution.objects.select_related(
            "current_revision"), to_attr="import_solutions")
        candidates = (
            Problem.objects.filter(external_id__in=ext_ids)
            | Problem.objects.filter(content_hash__in=list(hashes))
            | Problem.objects.filter(title__in=titles)
        ).prefetch_related("tags", solutions).order_by("pk")
        self.ids: dict[str, list[Problem]] = {}
        self.by_hash: dict[str, Problem] = {}
        self.titles: dict[tuple[str, str], Problem] = {}
        for existing in candidates:
            if existing.external_id:
                self.ids.setdefault(existing.external_id, []).append(existing)
            self.by_hash.setdefault(existing.content_hash, existing)
            self.titles.setdefault((existing.title.strip().lower(),
                                    existing.external_category), existing)

    def by_id(self, data: ProblemData) -> Problem | None:
        """The problem with this row's idnumber in the row's category. A problem imported
        without a category (from CSV, or before categories were kept) matches when it is
        the only one with that idnumber; so does a row without a category."""
        if not data.external_id:
            return None
        found = self.ids.get(data.external_id, [])
        exact = [p for p in found if p.external_category == data.category]
        if exact:
            return exact[0]
        loose = [p for p in found if not p.external_category] if data.category else found
        return loose[0] if len(loose) == 1 else None

    def similar(self, data: ProblemData) -> Problem | None:
        """A problem with the same title and category (but other text): probably this
        question, edited in Moodle. Only for rows without an idnumber match, and never a
        problem that has another idnumber (Moodle banks reuse titles like "Question 1")."""
        found = self.titles.get((data.title.strip().lower(), data.category))
        if found is not None and data.external_id and found.external_id:
            return None
        return found


def _id_words(data: ProblemData) -> str:
    if data.category:
        return gettext("idnumber “%(id)s” in category “%(category)s”") % {
            "id": data.external_id, "category": data.category}
    return gettext("external id “%(id)s”") % {"id": data.external_id}


def _family(kind: str, question_type: str | None, has_answer: bool | None) -> tuple:
    """What kind of question this is, coarsely: (kind, description / open / answer)."""
    if question_type == "description":
        return kind, "description"
    if question_type == "essay":
        return kind, "open"
    if question_type in ("shortanswer", "numerical") or has_answer:
        return kind, "answer"
    return kind, None if has_answer is None else "open"


def _is_another_question(existing: Problem, data: ProblemData) -> bool:
    """An idnumber match whose type, title and statement all differ: not an edit but an
    unrelated question that reuses the idnumber (Moodle only keeps them unique within a
    category)."""
    if existing.title.strip() == data.title.strip() or \
            existing.statement.strip() == data.statement.strip():
        return False
    old = _family(existing.kind, existing.external_type or None,
                  bool(existing.reference_answer.strip()))
    new = _family(data.kind or existing.kind, data.question_type,
                  True if data.reference_answer else None)
    if old[0] != new[0]:
        return True
    return new[1] is not None and old[1] != new[1]


def _hash(data: ProblemData) -> str:
    # Saving cleans the title and statement (services/cleaning.py): hash what is stored.
    fields = {"title": data.title, "statement": data.statement}
    clean_prompt_fields(fields, PROBLEM_PROMPT_FIELDS, what=None)
    return Problem(kind=data.kind or Problem.Kind.MATHS, **fields).compute_content_hash()


def _changes(existing: Problem, data: ProblemData) -> list[str]:
    fields = data.problem_fields()
    clean_prompt_fields(fields, PROBLEM_PROMPT_FIELDS, what=None)
    changes = [name for name, value in fields.items() if getattr(existing, name) != value]
    have = {t.name.lower() for t in existing.tags.all()}
    if any(tag.lower() not in have for tag in data.tags):
        changes.append("tags")
    return changes


# --- Export ------------------------------------------------------------------------------


@dataclass
class ExportFile:
    filename: str
    content_type: str
    content: bytes
    count: int


def problem_data(problem: Problem, *, with_solutions: bool) -> ProblemData:
    """The export shape of a problem; ``problem`` comes from ``selectors.problems_for_export``."""
    solution = ""
    if with_solutions:
        published = getattr(problem, "export_solutions", None)
        if published is None:
            published = list(problem.solutions.published().select_related("current_revision")
                             .order_by("-is_best", "-published_at", "-pk"))
        for candidate in published:
            if candidate.current_revision is not None:
                solution = candidate.current_revision.body
                break
    return ProblemData(
        number=problem.pk, label=f"#{problem.pk}", title=problem.title,
        statement=problem.statement, kind=problem.kind,
        reference_answer=problem.reference_answer, test_cases=problem.test_cases,
        tags=[t.name for t in problem.tags.all()], difficulty=problem.difficulty,
        source=problem.source, language=problem.language, external_id=problem.external_id,
        status=problem.status, solution=solution, category=problem.external_category,
        question_type=problem.external_type or None,
        accepted_answers=list(problem.accepted_answers or []),
    )


def export_problems(*, problems, format: str, with_solutions: bool = False,
                    name: str = "problems") -> ExportFile:
    """An export file of these problems, with their published solution when asked.

    The file is built in memory: about 2-4 KB per problem with its solution, so ten
    thousand problems make a file of tens of megabytes, which is fine for a web worker;
    for larger banks use ``manage.py export_problems`` (same code) with ``--tag`` or
    ``--ids`` to split the export.
    """
    if format not in interchange.FORMATS:
        raise ValueError(f"Unknown export format {format!r}.")
    rows = [problem_data(p, with_solutions=with_solutions) for p in problems]
    text = interchange.write(rows, format=format)
    content_type, extension = interchange.CONTENT_TYPES[format]
    # Excel opens a CSV as UTF-8 only when it starts with a byte-order mark.
    content = text.encode("utf-8-sig" if format == "csv" else "utf-8")
    return ExportFile(filename=f"{name}.{extension}", content_type=content_type,
                      content=content, count=len(rows))
