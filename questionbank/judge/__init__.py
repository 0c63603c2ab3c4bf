"""The judge: runs model-written programs against a problem's tests in a sandbox.

Django-free (stdlib + markdown-it): the services hand it text, test cases and limits,
and store what it returns. See :mod:`.sandbox` for what a program can and cannot reach.
"""

from .core import ALL_PASSED as ALL_PASSED
from .core import COULD_NOT_RUN as COULD_NOT_RUN
from .core import MEMORY_LIMIT as MEMORY_LIMIT
from .core import NO_TESTS as NO_TESTS
from .core import NOT_RUN as NOT_RUN
from .core import OUTPUT_LIMIT as OUTPUT_LIMIT
from .core import PASSED as PASSED
from .core import RUNTIME_ERROR as RUNTIME_ERROR
from .core import SOME_FAILED as SOME_FAILED
from .core import TIME_LIMIT as TIME_LIMIT
from .core import UNAVAILABLE as UNAVAILABLE
from .core import VERDICT_LABELS as VERDICT_LABELS
from .core import WRONG_ANSWER as WRONG_ANSWER
from .core import Report as Report
from .core import TestCase as TestCase
from .core import TestResult as TestResult
from .core import judge_program as judge_program
from .core import judge_text as judge_text
from .core import tests_from_json as tests_from_json
from .extract import NoProgram as NoProgram
from .extract import Program as Program
from .extract import extract_program as extract_program
from .languages import languages as languages
from .sandbox import Limits as Limits
from .sandbox import Sandbox as Sandbox
from .vote import vote_by_tests as vote_by_tests
