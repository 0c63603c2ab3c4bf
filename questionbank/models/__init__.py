"""The question bank's models, one module per domain."""

from .api import ApiIdempotencyKey as ApiIdempotencyKey
from .api import ApiToken as ApiToken
from .calllogs import CallLog as CallLog
from .calllogs import CallLogChainHead as CallLogChainHead
from .calllogs import CallLogCheckpoint as CallLogCheckpoint
from .calllogs import CallLogStat as CallLogStat
from .calllogs import CallLogVerification as CallLogVerification
from .endpoints import ModelEndpoint as ModelEndpoint
from .jobs import GenerationBatch as GenerationBatch
from .jobs import GenerationJob as GenerationJob
from .jobs import SamplingStop as SamplingStop
from .judge import JudgeRun as JudgeRun
from .problems import Problem as Problem
from .problems import Tag as Tag
from .solutions import IllegalTransition as IllegalTransition
from .solutions import Solution as Solution
from .solutions import SolutionRevision as SolutionRevision
from .solutions import SolutionTransition as SolutionTransition
from .templates import PromptTemplate as PromptTemplate
