"""AT command layer: sans-IO protocol, its events, and the CMS/CME error tables.

Import from here, not from the modules: ``from drivers.at import AtProtocol, Final``. The
names are those in the `__all__` of `protocol`, `events`, `errors`, `ranges` (test-command
answers) and `indications` (the AT+CNMI choice), each listed once there.
"""

from drivers.at import errors, events, indications, protocol, ranges
from drivers.at.errors import *  # noqa: F403
from drivers.at.events import *  # noqa: F403
from drivers.at.indications import *  # noqa: F403
from drivers.at.protocol import *  # noqa: F403
from drivers.at.ranges import *  # noqa: F403

__all__ = [*protocol.__all__, *events.__all__, *errors.__all__, *ranges.__all__, *indications.__all__]
