"""AT command layer: sans-IO protocol, its events, and the CMS/CME error tables.

Import from here, not from the modules: ``from drivers.at import AtProtocol, Final``.
"""

from drivers.at.errors import (
    CME_ERRORS,
    CMS_ERRORS,
    Action,
    ErrorInfo,
    classify,
    cme_action,
    cme_code_from_text,
    cms_action,
    cms_code_from_text,
    describe_cme,
    describe_cms,
)
from drivers.at.events import Echo, Event, Final, FinalKind, Garbage, Info, Prompt, Urc
from drivers.at.protocol import MAX_LINE, URC_NAMES, AtProtocol, split_args

__all__ = [
    # protocol
    "AtProtocol",
    "MAX_LINE",
    "URC_NAMES",
    "split_args",
    # events
    "Event",
    "Echo",
    "Info",
    "Final",
    "FinalKind",
    "Prompt",
    "Urc",
    "Garbage",
    # errors
    "Action",
    "ErrorInfo",
    "CMS_ERRORS",
    "CME_ERRORS",
    "classify",
    "cms_action",
    "cme_action",
    "describe_cms",
    "describe_cme",
    "cms_code_from_text",
    "cme_code_from_text",
]
