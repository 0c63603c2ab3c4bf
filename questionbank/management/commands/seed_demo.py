"""Load the demo set: problems, prompt templates, a model endpoint and three demo logins.

Idempotent: problems are recognised by ``external_id`` ("demo-001"), templates by name
and endpoints by name, and anything already there is left exactly as it is, so a
teacher's edits survive. Demo accounts are created once; their passwords are never
changed on a later run unless ``--reset-passwords`` is given.

Passwords: ``--password-file`` or ``QB_DEMO_PASSWORD`` give all three accounts one known
password. Otherwise each account gets a random one, which is written to a logins file
(``.demo-logins`` in the project folder, mode 600, git-ignored) and reused on later runs,
so ``make run`` can print logins that work every time. The database only ever holds
password hashes; delete the file (or pass ``--no-logins-file``) to keep no copy.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from questionbank import demo_data
from questionbank.encryption import split_url_credentials
from questionbank.models import ModelEndpoint, Problem, PromptTemplate
from questionbank.permissions import is_student, is_teacher
from questionbank.services.accounts import (
    ROLE_ADMIN,
    ROLE_STUDENT,
    ROLE_TEACHER,
    password_problems,
    user_create,
    user_set_password,
)
from questionbank.services.endpoints import endpoint_create, endpoint_update
from questionbank.services.problems import problem_create
from questionbank.services.templates import template_create

ACCOUNTS = (
    ("admin", ROLE_ADMIN, "administrator: /admin/"),
    ("teacher", ROLE_TEACHER, "teacher: /teach/"),
    ("student", ROLE_STUDENT, "student: reads published solutions"),
)
LOGINS_FILE_NAME = ".demo-logins"
UNCHANGED = "unchanged (password set earlier; reset with manage.py changepassword {name})"


@dataclass
class Login:
    username: str
    note: str
    status: str  # created / already present / password reset
    password: str | None  # None: not known to this command


def default_logins_file() -> Path:
    return Path(settings.BASE_DIR) / LOGINS_FILE_NAME


def read_logins(path: Path) -> dict[str, str]:
    """``username password`` lines of a logins file; a missing file is empty."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise CommandError(
            f"Cannot read the demo logins file {path}: {error.strerror}. "
            "Fix its permissions, or delete it to get new passwords."
        ) from None
    logins = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, password = line.partition(" ")
            if password.strip():
                logins[name] = password.strip()
    return logins


def write_logins(path: Path, logins: dict[str, str]) -> None:
    """Write the file atomically, readable and writable by its owner only (mode 600)."""
    lines = [
        "# Demo logins written by `manage.py seed_demo`, reused on its next run.",
        "# Keep this file private; delete it to stop keeping a copy of these passwords.",
        *(f"{name} {password}" for name, password in logins.items()),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".demo-logins.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Command(BaseCommand):
    help = (
        "Load the demo problems, prompt templates and model endpoint, and create demo "
        "admin/teacher/student logins. Safe to run again: nothing already there is changed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--standin-url", metavar="URL",
            help="Also add the stand-in WEBUI (no model) at this URL as an endpoint.",
        )
        parser.add_argument(
            "--password-file", metavar="PATH",
            help="Read one password for all three demo accounts from the first line of PATH "
            "(overrides QB_DEMO_PASSWORD).",
        )
        files = parser.add_mutually_exclusive_group()
        files.add_argument(
            "--logins-file", metavar="PATH",
            help=f"Where generated passwords are kept (default: {LOGINS_FILE_NAME} in the "
            "project folder).",
        )
        files.add_argument(
            "--no-logins-file", action="store_true",
            help="Keep no copy of generated passwords (they are printed once).",
        )
        parser.add_argument(
            "--reset-passwords", action="store_true",
            help="Give demo accounts that already exist a new password (the known one, "
            "or a new random one).",
        )

    def handle(self, *args, **options):
        known = self._known_password(options["password_file"])
        logins_path = None
        if not options["no_logins_file"]:
            logins_path = Path(options["logins_file"] or default_logins_file())
        saved = read_logins(logins_path) if logins_path else {}

        with transaction.atomic():
            logins = [
                self._account(name, role, note, known, saved, options["reset_passwords"])
                for name, role, note in ACCOUNTS
            ]
            teacher = get_user_model().objects.get(username="teacher")
            created, present = self._problems(teacher)
            templates = self._templates(teacher)
            endpoints = self._endpoints(options["standin_url"])

        if logins_path and known is None:
            keep = {lg.username: lg.password for lg in logins if lg.password}
            if keep != saved:
                write_logins(logins_path, keep)
        self._report(created, present, templates, endpoints, logins, logins_path, known)

    # --- accounts ---------------------------------------------------------------------

    def _known_password(self, password_file: str | None) -> str | None:
        if password_file:
            try:
                first = Path(password_file).read_text(encoding="utf-8").splitlines()
            except OSError as error:
                raise CommandError(
                    f"Cannot read the password file {password_file}: {error.strerror}."
                ) from None
            password = first[0].strip() if first else ""
            if not password:
                raise CommandError(
                    f"The password file {password_file} is empty; put the password on its "
                    "first line."
                )
            origin = f"The password in {password_file}"
        elif settings.QB_DEMO_PASSWORD:
            password, origin = settings.QB_DEMO_PASSWORD, "QB_DEMO_PASSWORD"
        else:
            return None
        for name, _, _ in ACCOUNTS:
            problems = password_problems(password=password, username=name)
            if problems:
                raise CommandError(
                    f"{origin} is too weak for the demo account {name!r}: "
                    + " ".join(problems)
                    + " Choose a longer, less common password, or leave it unset to get "
                    "random passwords."
                )
        return password

    def _account(self, name, role, note, known, saved, reset) -> Login:
        User = get_user_model()
        user = User.objects.filter(username=name).first()
        if user is None:
            password = known or saved.get(name) or secrets.token_urlsafe(9)
            user_create(username=name, role=role, email=f"{name}@example.com",
                        password=password)
            return Login(name, note, "created", password)
        if not self._has_role(user, role):
            note = f"{note}; NOTE: this existing account does not have the {role} role"
        if reset:
            password = known or secrets.token_urlsafe(9)
            user_set_password(user=user, password=password)
            return Login(name, note, "password reset", password)
        for candidate in (known, saved.get(name)):
            if candidate and user.check_password(candidate):
                return Login(name, note, "already present", candidate)
        return Login(name, note, "already present", None)

    @staticmethod
    def _has_role(user, role) -> bool:
        if role == ROLE_ADMIN:
            return user.is_superuser
        if role == ROLE_TEACHER:
            return is_teacher(user)
        return is_student(user)

    # --- content ------------------------------------------------------------------------

    def _problems(self, teacher) -> tuple[int, int]:
        ids = [p["external_id"] for p in demo_data.PROBLEMS]
        present = set(
            Problem.objects.filter(external_id__in=ids).values_list("external_id", flat=True)
        )
        created = 0
        for data in demo_data.PROBLEMS:
            if data["external_id"] in present:
                continue
            fields = {k: v for k, v in data.items() if k != "tags"}
            try:
                problem_create(created_by=teacher, tags=data["tags"],
                               source=demo_data.SOURCE, **fields)
            except ValidationError as error:
                raise CommandError(
                    f"Demo problem {data['external_id']} could not be saved: "
                    + " ".join(error.messages)
                ) from None
            created += 1
        return created, len(present)

    def _templates(self, teacher) -> list[tuple[str, str]]:
        results = []
        for data in demo_data.TEMPLATES:
            if PromptTemplate.objects.filter(name=data["name"]).exists():
                results.append((data["name"], "already present"))
                continue
            template_create(created_by=teacher, **data)
            results.append((data["name"], "created"))
        return results

    def _endpoints(self, standin_url: str | None) -> list[tuple[str, str, str]]:
        results = []
        if settings.QB_WEBUI_URL:
            results.append(self._endpoint(demo_data.WEBUI_ENDPOINT_NAME, settings.QB_WEBUI_URL,
                                          is_standin=False, origin="QB_WEBUI_URL"))
        if standin_url:
            results.append(self._endpoint(demo_data.STANDIN_ENDPOINT_NAME, standin_url,
                                          is_standin=True, origin="--standin-url"))
        return results

    def _endpoint(self, name, url, *, is_standin, origin) -> tuple[str, str, str]:
        # A login written into QB_WEBUI_URL (http://user:pass@host) goes to the endpoint's
        # credential fields, never into its address, the output or the call log.
        url, username, password = split_url_credentials(url)
        login = {"username": username, "password": password} if username or password else {}
        endpoint = ModelEndpoint.objects.filter(name=name).first()
        try:
            if endpoint is None:
                # A WEBUI that does not stream is silent until done: the maths template's
                # 16,384 tokens at ~14 tokens/s is ~20 minutes, over the 15-minute default.
                endpoint_create(name=name, protocol=ModelEndpoint.Protocol.GRADIO,
                                base_url=url, max_concurrency=1, read_timeout=30 * 60.0,
                                is_standin=is_standin, **login)
                return name, url, "created"
            if endpoint.base_url != url:
                endpoint_update(endpoint=endpoint, base_url=url, **login)
                return name, url, "address updated"
        except ValidationError as error:
            raise CommandError(
                f"{origin} {url!r} is not a usable address for the endpoint {name!r}: "
                + " ".join(error.messages)
                + " Use a full URL such as http://127.0.0.1:7860."
            ) from None
        return name, url, "already present"

    # --- output -------------------------------------------------------------------------

    def _report(self, created, present, templates, endpoints, logins, logins_path, known):
        out = self.stdout.write
        maths = sum(p["kind"] == demo_data.MATHS for p in demo_data.PROBLEMS)
        drafts = sum(p["status"] == demo_data.DRAFT for p in demo_data.PROBLEMS)
        out(self.style.SUCCESS("Demo data is ready."))
        out(f"  Problems:  {created} created, {present} already present "
            f"({maths} maths, {len(demo_data.PROBLEMS) - maths} programming, "
            f"{drafts} of them drafts)")
        for name, status in templates:
            out(f"  Template:  {name} ({status})")
        existing = list(ModelEndpoint.objects.values_list("name", flat=True)[:5])
        if not endpoints and existing:
            out(f"  Endpoint:  none added; already configured: {', '.join(existing)}")
        elif not endpoints:
            out("  Endpoint:  none (set QB_WEBUI_URL to your VibeThinker WEBUI's address "
                "and run seed_demo again)")
        for name, url, status in endpoints:
            extra = ("; a stand-in with no model: its answers are not the model's"
                     if name == demo_data.STANDIN_ENDPOINT_NAME else "")
            out(f"  Endpoint:  {name} at {url} ({status}{extra})")
        out("  Logins:")
        width = max(len(lg.username) for lg in logins)
        for lg in logins:
            password = lg.password or UNCHANGED.format(name=lg.username)
            out(f"    {lg.username:<{width}}  {password}    [{lg.note}; {lg.status}]")
        if known is None and logins_path and any(lg.password for lg in logins):
            out(f"  (Generated passwords are kept in {logins_path}, readable only by you, "
                "and reused on the next run.)")
