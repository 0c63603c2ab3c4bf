"""Client for model servers: Gradio WEBUIs (3.x to 6.x) and OpenAI-compatible servers.

Django-free by design (stdlib + requests only) so it can be used and tested on its own.
See :class:`Client` for the entry point and :mod:`.errors` for the error tree.
"""

from .breaker import BreakerState as BreakerState
from .breaker import BreakerStore as BreakerStore
from .breaker import CircuitBreaker as CircuitBreaker
from .breaker import InMemoryBreakerStore as InMemoryBreakerStore
from .client import Client as Client
from .datatypes import FIELDS as FIELDS
from .datatypes import Discovery as Discovery
from .datatypes import Endpoint as Endpoint
from .datatypes import Exchange as Exchange
from .datatypes import GenerationRequest as GenerationRequest
from .datatypes import GenerationResult as GenerationResult
from .datatypes import Health as Health
from .datatypes import Parameter as Parameter
from .errors import AuthFailed as AuthFailed
from .errors import ConnectFailed as ConnectFailed
from .errors import EmptyReply as EmptyReply
from .errors import HTTPStatusError as HTTPStatusError
from .errors import LayoutError as LayoutError
from .errors import MalformedReply as MalformedReply
from .errors import ReplyCutOff as ReplyCutOff
from .errors import ReplyTooLarge as ReplyTooLarge
from .errors import ServerReportedError as ServerReportedError
from .errors import TimedOut as TimedOut
from .errors import TruncatedOutput as TruncatedOutput
from .errors import WebUIError as WebUIError
from .layout import map_parameters as map_parameters
from .retry import backoff_delay as backoff_delay
from .retry import call_with_retries as call_with_retries
from .transport import forget_sessions as forget_sessions
from .transport import session_for as session_for
