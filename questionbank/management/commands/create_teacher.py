"""Create a teacher account, or make an existing user a teacher.

    python manage.py create_teacher alice --email alice@school.example
    echo "$PASSWORD" | python manage.py create_teacher alice --password-stdin
    python manage.py create_teacher bob --no-input   # no password yet: changepassword bob

A teacher is a staff user in the Teacher group. The password is checked by Django's
password validators (AUTH_PASSWORD_VALIDATORS); a weak one is refused with the reasons.
"""

from __future__ import annotations

import getpass
import sys

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from questionbank.permissions import TEACHER_GROUP, in_group
from questionbank.services.accounts import (
    ROLE_TEACHER,
    password_problems,
    user_create,
    user_make_teacher,
    user_set_password,
)

PROMPT_ATTEMPTS = 3


class Command(BaseCommand):
    help = "Create a teacher account (staff, Teacher group), or make an existing user a teacher."
    # Tests hand in a file object, as Django's createsuperuser allows.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("username", help="The login name of the teacher.")
        parser.add_argument("--email", default=None, help="The teacher's e-mail address.")
        source = parser.add_mutually_exclusive_group()
        source.add_argument(
            "--password-stdin", action="store_true",
            help="Read the password from the first line of standard input (for scripts).",
        )
        source.add_argument(
            "--no-input", "--noinput", action="store_true", dest="no_input",
            help="Ask nothing. A new account gets no usable password until you run "
            "`manage.py changepassword USERNAME`.",
        )

    def handle(self, *args, username: str, email: str | None, password_stdin: bool,
               no_input: bool, **options):
        self.stdin = options.get("stdin") or sys.stdin
        User = get_user_model()
        username = username.strip()
        user = User.objects.filter(username=username).first()
        if user is not None and user.is_staff and in_group(user, TEACHER_GROUP):
            raise CommandError(
                f'"{username}" is already a teacher; nothing was changed. To set a new '
                f"password, run: python manage.py changepassword {username}"
            )
        if user is None:
            self._check_username(User, username)
            self._check_email(User, email)

        password = None
        if password_stdin:
            password = self._password_from_stdin(username, email or "")
        elif not no_input and user is None:
            password = self._password_from_prompt(username, email or "")

        with transaction.atomic():
            if user is None:
                user_create(username=username, role=ROLE_TEACHER, email=email or "",
                            password=password)
                action = "Created teacher"
            else:
                user_make_teacher(user=user, email=email)
                if password is not None:
                    user_set_password(user=user, password=password)
                action = "Made the existing user"
        if user is None:
            self.stdout.write(self.style.SUCCESS(
                f'{action} "{username}" (staff, Teacher group). They can log in at /login/ '
                "and find their pages under /teach/."
            ))
            if password is None:
                self.stdout.write(
                    f"No password was set: run `python manage.py changepassword {username}` "
                    "before they log in."
                )
        else:
            kept = "set from standard input" if password is not None else "unchanged"
            self.stdout.write(self.style.SUCCESS(
                f'{action} "{username}" a teacher (staff, Teacher group); password {kept}.'
            ))

    # --- checks ---------------------------------------------------------------------------

    @staticmethod
    def _check_username(User, username: str) -> None:
        field = User._meta.get_field(User.USERNAME_FIELD)
        if not username:
            raise CommandError("The username cannot be blank.")
        try:
            field.run_validators(username)
            User.username_validator(username)
        except ValidationError as error:
            raise CommandError(
                f'"{username}" cannot be used as a username: ' + " ".join(error.messages)
            ) from None

    @staticmethod
    def _check_email(User, email: str | None) -> None:
        if not email:
            return
        try:
            User._meta.get_field("email").run_validators(email)
        except ValidationError:
            raise CommandError(
                f'"{email}" is not a valid e-mail address; give one like name@school.example.'
            ) from None

    def _password_from_stdin(self, username: str, email: str) -> str:
        line = self.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise CommandError(
                "--password-stdin was given but standard input was empty; pipe the password "
                "in, e.g. `printf '%s\\n' \"$PASSWORD\" | python manage.py create_teacher "
                f"{username} --password-stdin`."
            )
        problems = password_problems(password=password, username=username, email=email)
        if problems:
            raise CommandError(
                "That password was refused: " + " ".join(problems)
                + " Nothing was changed; choose a stronger password and run the command again."
            )
        return password

    def _password_from_prompt(self, username: str, email: str) -> str:
        for _ in range(PROMPT_ATTEMPTS):
            try:
                first = getpass.getpass("Password: ")
                second = getpass.getpass("Password (again): ")
            except (EOFError, KeyboardInterrupt):
                raise CommandError(
                    "Cancelled; nothing was changed. To create the teacher without typing a "
                    "password, use --password-stdin or --no-input."
                ) from None
            if first != second:
                self.stderr.write("The two passwords differ. Try again.")
                continue
            if not first.strip():
                self.stderr.write("The password cannot be blank. Try again.")
                continue
            problems = password_problems(password=first, username=username, email=email)
            if problems:
                self.stderr.write("That password was refused: " + " ".join(problems)
                                  + " Try again.")
                continue
            return first
        raise CommandError(
            f"No acceptable password after {PROMPT_ATTEMPTS} attempts; nothing was changed."
        )
