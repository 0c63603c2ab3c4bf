"""Writing solutions: revisions are appended, never edited; state changes are recorded.

Three rules keep what students read trustworthy:

- **One published explanation per problem** (a partial unique constraint backs it).
  Publishing a solution for a problem that already has one replaces it in the same
  transaction; both moves are recorded with who, when and why.
- **Every revision is checked.** Its final answer is taken from its text (the same
  extraction as for model output) unless the teacher typed one, then compared with the
  reference answer and with the problem's other candidates. The check is kept with the
  revision and copied to the solution for the lists.
- **Publishing is guarded.** A solution that disagrees with the reference, could not be
  checked, came from the stand-in server, is stale or would replace the published one
  is published only when each of those reasons is confirmed explicitly
  (:class:`PublishNeedsConfirmation` names them). Bulk publishing publishes only the
  safe ones and returns the rest with their reasons.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from questionbank.answers import AGREES, DISAGREES, extract_final_answer, verdict, vote
from questionbank.judge import vote_by_tests
from questionbank.models import JudgeRun, Problem, Solution, SolutionRevision
from questionbank.models.solutions import IllegalTransition
from questionbank.rendering import render_markdown
from questionbank.stored_text import (
    GENERATED_BY_MODEL,
    PUBLISHED_AFTER_CONFIRMING,
    REPLACED_BY,
    REPLACES,
    REVERTED_TO,
    WRITTEN_BY_TEACHER,
    english,
)
from questionbank.textdiff import normalized_edit_distance

# With no reference answer, an answer is trusted for bulk publishing only when at least
# this share of the problem's candidates, and at least two of them, agree with it.
CLEAR_MAJORITY_SHARE = 0.6
CLEAR_MAJORITY_MIN = 2


class EditConflict(Exception):
    """Someone saved a newer revision after the editor opened theirs; nothing was saved."""

    def __init__(self, *, current: SolutionRevision, attempted_body: str):
        self.current = current
        self.attempted_body = attempted_body
        who = current.author_label
        super().__init__(
            gettext("%(who)s saved revision %(number)s while you were editing. Both texts are "
                    "shown below: merge them and save again.")
            % {"who": who, "number": current.number}
        )


# --- Answer checks ----------------------------------------------------------------------


def answer_verdict(answer: str | None, reference: str | None, alternatives=()) -> str:
    """agrees / disagrees / unchecked (no answer, no reference, or not parseable maths);
    ``alternatives``: the problem's other accepted answers (``Problem.accepted_answers``)."""
    answer, reference = (answer or "").strip(), (reference or "").strip()
    if answer and answer.replace(" ", "") == reference.replace(" ", ""):
        return Solution.Verdict.AGREES  # the same text: no need to ask SymPy
    return {AGREES: Solution.Verdict.AGREES, DISAGREES: Solution.Verdict.DISAGREES}.get(
        verdict(answer or None, reference or None, alternatives=alternatives or ()),
        Solution.Verdict.UNCHECKED)


def _check(problem: Problem, answer: str) -> dict:
    """The check of one answer against the problem's reference, as revision fields."""
    programming = problem.kind == Problem.Kind.PROGRAMMING
    return {
        "final_answer": answer,
        "verdict": (Solution.Verdict.NOT_CHECKED if programming
                    else answer_verdict(answer, problem.reference_answer,
                                        problem.accepted_answers)),
        "reference_answer": problem.reference_answer,
        "checked_at": timezone.now(),
    }


def _answer_of(body: str, final_answer: str | None) -> tuple[str, bool]:
    """(answer, typed by the teacher): a typed answer wins over the text's own."""
    typed = (final_answer or "").strip()
    if typed:
        return typed, True
    return extract_final_answer(body) or "", False


def problem_vote(*, problem_id: int) -> None:
    """Check a problem's current candidates (all but the rejected) against each other.

    Maths: answers are grouped by mathematical equivalence across every current
    solution, whatever batch or teacher made it; each solution gets its group, its
    group's share of the candidates and a verdict against the reference answer, and the
    first of the largest group (the published one first, then the oldest) is marked the
    best candidate. The current revision of each keeps the same check. Programming:
    grouped by the tests each passes (its code's latest judge run), the one passing the
    most tests marked best; the answer verdict stays "not checked". The problem row is
    locked so that two writers vote one after the other. Never changes what students see.
    """
    with transaction.atomic():
        problem = Problem.objects.select_for_update().get(pk=problem_id)
        solutions = _ordered_candidates(problem_id)
        if not solutions:
            return
        now = timezone.now()
        if problem.kind == Problem.Kind.PROGRAMMING:
            # Grouped by which tests each passes (issue 18); one passing them all is best.
            result = vote_by_tests(JudgeRun.objects.signatures(solutions))
            for i, s in enumerate(solutions):
                judged = result.groups[i] is not None
                s.verdict, s.answer_group = Solution.Verdict.NOT_CHECKED, result.groups[i]
                s.majority_share = result.shares[i] if judged else None
                s.is_best = judged and i == result.best
        else:
            result = vote([s.final_answer or None for s in solutions])
            checked: dict[str, str] = {}
            for i, s in enumerate(solutions):
                s.answer_group = result.groups[i]
                s.majority_share = result.shares[i]
                s.is_best = i == result.best and result.groups[i] is not None
                answer = s.final_answer or ""
                if answer not in checked:
                    checked[answer] = answer_verdict(answer, problem.reference_answer,
                                                     problem.accepted_answers)
                s.verdict = checked[answer]
        Solution.objects.bulk_update(
            solutions, ["verdict", "majority_share", "answer_group", "is_best"])
        revisions = []
        for s in solutions:
            revision = s.current_revision
            if revision is None:
                continue
            revision.verdict, revision.agreement = s.verdict, s.majority_share
            revision.reference_answer, revision.checked_at = problem.reference_answer, now
            revisions.append(revision)
        SolutionRevision.objects.bulk_update(
            revisions, ["verdict", "agreement", "reference_answer", "checked_at"])
        # Rejected solutions are out of the running: no group, no best mark.
        Solution.objects.filter(problem_id=problem_id, status=Solution.Status.REJECTED).update(
            is_best=False, answer_group=None, majority_share=None)


def _ordered_candidates(problem_id: int) -> list[Solution]:
    """Current candidates, the published one first, then oldest first (the vote's order)."""
    rows = list(Solution.objects.candidates().filter(problem_id=problem_id)
                .select_related("current_revision").order_by("created_at", "pk"))
    rows.sort(key=lambda s: s.status != Solution.Status.PUBLISHED)
    return rows


# --- Creating and editing ---------------------------------------------------------------


@transaction.atomic
def solution_create(*, problem, body: str, author=None, note: str = "",
                    final_answer: str | None = None, **fields) -> Solution:
    """A new draft solution with its first revision (``author=None`` means the model).

    ``final_answer``: for model output, the answer the caller extracted (it may look in
    the reasoning too); for a teacher, a typed answer. Without it, the answer is taken
    from ``body``. The revision is checked against the reference answer; the vote
    against the other candidates is :func:`problem_vote`'s job.
    """
    if author is None and final_answer is not None:
        answer, typed = final_answer.strip(), False
    else:
        answer, typed = _answer_of(body, final_answer)
    check = _check(problem, answer)
    fields.setdefault("verdict", check["verdict"])
    solution = Solution.objects.create(problem=problem, final_answer=answer, **fields)
    revision = SolutionRevision.objects.create(
        solution=solution, number=1, body=body, body_html=render_markdown(body), author=author,
        note=note or (GENERATED_BY_MODEL if author is None else WRITTEN_BY_TEACHER),
        final_answer_by_teacher=typed, agreement=solution.majority_share,
        **{**check, "verdict": solution.verdict},
    )
    solution.current_revision = revision
    solution.save(update_fields=["current_revision"])
    _judge(revision, problem)
    return solution


def solution_add_revision(
    *, solution: Solution, body: str, author, note: str = "", base_revision: int | None = None,
    final_answer: str | None = None,
) -> SolutionRevision:
    """Append a revision, check its answer and make it current.

    The final answer is ``final_answer`` when the teacher typed one, else the one the
    text gives. ``base_revision`` is the number the editor started from; if a newer
    revision was saved since, ``EditConflict`` is raised and nothing is written. After
    the revision is saved, the problem's candidates are voted on again, so the answer's
    agreement with the others is current too.
    """
    with transaction.atomic():
        locked = Solution.objects.select_for_update().select_related("problem").get(
            pk=solution.pk)
        latest = locked.revisions.order_by("-number").first()
        if base_revision is not None and latest is not None and latest.number != base_revision:
            raise EditConflict(current=latest, attempted_body=body)
        answer, typed = _answer_of(body, final_answer)
        check = _check(locked.problem, answer)
        revision = SolutionRevision.objects.create(
            solution=locked,
            number=(latest.number + 1) if latest else 1,
            body=body,
            body_html=render_markdown(body),
            author=author,
            note=note,
            final_answer_by_teacher=typed,
            **check,
        )
        locked.current_revision = revision
        locked.final_answer, locked.verdict = answer, check["verdict"]
        locked.save(update_fields=["current_revision", "final_answer", "verdict",
                                   "updated_at"])
        _judge(revision, locked.problem)
    problem_vote(problem_id=locked.problem_id)
    revision.refresh_from_db()
    solution.refresh_from_db()
    return revision


def _judge(revision: SolutionRevision, problem: Problem) -> None:
    """Queue the code judge on a revision whose code is new (programming problems)."""
    # services.judge imports services.generation, which imports this module: a cycle.
    from questionbank.services.judge import judge_revision_queue

    judge_revision_queue(revision=revision, problem=problem)


def solution_revert(*, solution: Solution, to_number: int, author) -> SolutionRevision:
    """Revert by appending a copy of an older revision (its typed final answer too);
    history is never rewritten."""
    old = solution.revisions.get(number=to_number)
    return solution_add_revision(
        solution=solution, body=old.body, author=author,
        note=english(REVERTED_TO, number=to_number),
        final_answer=old.final_answer if old.final_answer_by_teacher else None,
    )


# --- Publishing guards ------------------------------------------------------------------


@dataclass(frozen=True)
class PublishConcern:
    """A reason to look twice before students see a solution."""

    code: str
    message: str


class Concern:
    DISAGREES = "disagrees"
    UNCHECKED = "unchecked"
    STANDIN = "standin"
    STALE = "stale"
    REPLACES = "replaces"
    CODE_TESTS = "code_tests"

    LABELS = {
        DISAGREES: gettext_noop("disagrees with the reference"),
        UNCHECKED: gettext_noop("could not be checked"),
        STANDIN: gettext_noop("came from the stand-in server"),
        STALE: gettext_noop("stale: the problem changed since"),
        REPLACES: gettext_noop("replaces the published solution"),
        CODE_TESTS: gettext_noop("fails the problem's tests"),
    }


class PublishNeedsConfirmation(Exception):
    """Publishing needs the teacher to confirm each of these reasons; nothing changed."""

    def __init__(self, solution: Solution, concerns: list[PublishConcern]):
        self.solution = solution
        self.concerns = concerns
        super().__init__(
            gettext("Solution %(number)s was not published: %(concerns)s Confirm to publish it "
                    "anyway.") % {"number": solution.pk,
                                  "concerns": " ".join(str(c.message) for c in concerns)}
        )


def publish_concerns(solution: Solution) -> list[PublishConcern]:
    """Why publishing this solution needs an explicit confirmation (empty: it does not)."""
    problem = solution.problem
    concerns: list[PublishConcern] = []
    answer = solution.final_answer or gettext("(none found)")
    if problem.kind == Problem.Kind.MATHS:
        if solution.verdict == Solution.Verdict.DISAGREES:
            concerns.append(PublishConcern(
                Concern.DISAGREES,
                gettext("Its final answer %(answer)s disagrees with the reference answer "
                        "%(reference)s.") % {"answer": answer,
                                             "reference": problem.reference_answer}))
        elif solution.verdict != Solution.Verdict.AGREES:
            if not solution.final_answer:
                why = gettext("no final answer was found in it")
            elif problem.reference_answer.strip():
                why = gettext("its answer is not maths the checker can compare with the "
                              "reference")
            elif not _clear_majority(solution):
                why = gettext("the problem has no reference answer and no clear majority of its "
                              "candidates agrees with this answer")
            else:
                why = ""
            if why:
                concerns.append(PublishConcern(
                    Concern.UNCHECKED, gettext("It could not be checked: %(why)s.")
                    % {"why": why}))
    if solution.from_standin:
        concerns.append(PublishConcern(
            Concern.STANDIN, gettext("It came from the stand-in server, not from the model: its "
                                     "text is canned, not a real explanation.")))
    if solution.is_stale:
        concerns.append(PublishConcern(
            Concern.STALE, gettext("The problem changed after it was generated (it was written "
                                   "for version %(then)s; the problem is now at version "
                                   "%(now)s).") % {"then": solution.problem_version,
                                                   "now": problem.version}))
    shown = published_solution_id(problem_id=solution.problem_id)
    if shown is not None and shown != solution.pk:
        concerns.append(PublishConcern(
            Concern.REPLACES, gettext("Students now see solution %(number)s; publishing this "
                                      "one replaces it (it goes back to draft).")
            % {"number": shown}))
    if problem.kind == Problem.Kind.PROGRAMMING:
        # services.judge imports services.generation, which imports this module: a cycle.
        from questionbank.services.judge import judge_publish_concern

        code = judge_publish_concern(solution)
        if code is not None:
            concerns.append(PublishConcern(Concern.CODE_TESTS,
                                           gettext("Its code %(problem)s.") % {"problem": code}))
    return concerns


def published_solution_id(*, problem_id: int) -> int | None:
    """The id of the one solution students see for this problem, if any."""
    return (Solution.objects.published().filter(problem_id=problem_id)
            .values_list("pk", flat=True).first())


def _clear_majority(solution: Solution) -> bool:
    if solution.answer_group is None or solution.majority_share is None:
        return False
    agreeing = (Solution.objects.candidates()
                .filter(problem_id=solution.problem_id, answer_group=solution.answer_group)
                .count())
    return agreeing >= CLEAR_MAJORITY_MIN and solution.majority_share >= CLEAR_MAJORITY_SHARE


# --- State changes ----------------------------------------------------------------------


def solution_transition(*, solution: Solution, target: str, user, reason: str = "",
                        confirm: Iterable[str] = ()):
    """Move a solution along draft -> in review -> published (or rejected, or back).

    Publishing checks :func:`publish_concerns` and raises ``PublishNeedsConfirmation``
    unless every concern's code is in ``confirm``; it replaces the problem's published
    solution, if any, in the same transaction. Raises ``IllegalTransition`` for a move
    the current state does not allow, and ``ValueError`` when rejecting without a reason.
    """
    if target == Solution.Status.REJECTED and not reason.strip():
        raise ValueError(gettext("Say why the solution is rejected, so the next reviewer knows."))
    measured = None
    if target == Solution.Status.PUBLISHED:
        measured = _edit_distance(solution.pk)  # before any row is locked
    with transaction.atomic():
        if target == Solution.Status.PUBLISHED:
            transition = _publish(solution=solution, user=user, reason=reason.strip(),
                                  confirm=set(confirm), measured=measured)
        else:
            locked = Solution.objects.select_for_update().get(pk=solution.pk)
            transition = locked.move_to(target, user=user, reason=reason.strip())
    if target == Solution.Status.REJECTED:
        problem_vote(problem_id=solution.problem_id)  # out of the running
    solution.refresh_from_db()
    return transition


def _publish(*, solution: Solution, user, reason: str, confirm: set[str],
             measured: tuple[int | None, float | None] | None = None):
    # The problem row is the lock every publisher of this problem takes first, so two
    # teachers publishing at once go one after the other (the constraint is the backstop).
    list(Problem.objects.select_for_update().filter(pk=solution.problem_id).values_list("pk"))
    locked = (Solution.objects.select_for_update().select_related("problem")
              .get(pk=solution.pk))
    if not locked.can_move_to(Solution.Status.PUBLISHED):
        locked.move_to(Solution.Status.PUBLISHED)  # raises IllegalTransition with words
    concerns = publish_concerns(locked)
    unconfirmed = [c for c in concerns if c.code not in confirm]
    if unconfirmed:
        raise PublishNeedsConfirmation(locked, unconfirmed)
    notes = [reason] if reason else []
    if concerns:
        notes.append(english(PUBLISHED_AFTER_CONFIRMING, concerns="; ".join(
            Concern.LABELS.get(c.code, c.code) for c in concerns)))
    previous = (Solution.objects.select_for_update().published()
                .filter(problem_id=locked.problem_id).exclude(pk=locked.pk).first())
    if previous is not None:
        previous.move_to(Solution.Status.DRAFT, user=user,
                         reason=english(REPLACED_BY, number=locked.pk))
        notes.insert(0, english(REPLACES, number=previous.pk))
    transition = locked.move_to(Solution.Status.PUBLISHED, user=user, reason=" ".join(notes))
    if measured is None or measured[0] != locked.current_revision_id:
        # A revision was saved since it was measured (or nobody measured): measure again.
        measured = _edit_distance(locked.pk)
    Solution.objects.filter(pk=locked.pk).update(edit_distance=measured[1])
    return transition


def _edit_distance(solution_id: int) -> tuple[int | None, float | None]:
    """``(current revision id, distance)``: how far the current text is from the model's
    own (template quality); ``None`` for a hand-written solution.

    Taken before publishing locks any row (issue 14: a 2.4 MB reply once held the problem's
    lock for minutes), with a measure linear in the length of the texts.
    """
    current_id = (Solution.objects.filter(pk=solution_id)
                  .values_list("current_revision_id", flat=True).first())
    revisions = SolutionRevision.objects.filter(solution_id=solution_id)
    first = revisions.filter(number=1, author__isnull=True).values_list("pk", "body").first()
    if first is None or current_id is None:
        return current_id, None
    current = first[1] if first[0] == current_id else (
        revisions.filter(pk=current_id).values_list("body", flat=True).first())
    if current is None:
        return current_id, None
    return current_id, normalized_edit_distance(first[1], current)


@dataclass
class BulkResult:
    """What a bulk transition did: the solutions moved and, for the others, why not.

    ``held``: solutions that publishing left alone because they need a confirmation,
    with the concerns to confirm.
    """

    moved: list[Solution] = field(default_factory=list)
    refused: list[tuple[Solution, str]] = field(default_factory=list)
    held: list[tuple[Solution, list[PublishConcern]]] = field(default_factory=list)


def solutions_transition(*, solutions, target: str, user, reason: str = "",
                         confirmed: bool = False) -> BulkResult:
    """Move many solutions (bulk publish / reject from the review queue and the admin).

    Each solution moves in its own transaction, so one that cannot move (already
    published, say) is reported and does not stop the others. Publishing publishes only
    solutions with no concern (they agree with the reference, or with no reference hold
    a clear majority; not stand-in, not stale, not replacing what students see) and
    returns the others in ``held``. ``confirmed=True`` is the teacher's explicit second
    step for those: each is published with its concerns confirmed, except a second
    solution for a problem that got one in the same step.
    """
    if target == Solution.Status.REJECTED and not reason.strip():
        raise ValueError(gettext("Say why these solutions are rejected, so the next reviewer "
                                 "knows."))
    result = BulkResult()
    ordered = list(solutions)
    if target == Solution.Status.PUBLISHED:
        # The likeliest to be right first, so it is the one a problem gets.
        ordered.sort(key=lambda s: (not s.is_best, -(s.majority_share or 0), s.pk))
    published_now: dict[int, int] = {}
    for solution in ordered:
        if target == Solution.Status.PUBLISHED and solution.problem_id in published_now:
            result.refused.append((solution, (
                gettext("Solution %(number)s of the same problem was published in this step; a "
                        "problem shows one explanation.")
                % {"number": published_now[solution.problem_id]})))
            continue
        confirm = set(Concern.LABELS) if confirmed else ()
        try:
            solution_transition(solution=solution, target=target, user=user, reason=reason,
                                confirm=confirm)
        except IllegalTransition as exc:
            result.refused.append((solution, str(exc)))
        except PublishNeedsConfirmation as exc:
            result.held.append((solution, exc.concerns))
        else:
            result.moved.append(solution)
            published_now[solution.problem_id] = solution.pk
    return result
