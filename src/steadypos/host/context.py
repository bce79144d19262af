"""What a handler gets: the request, its terminal, the keys, and a way to answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from steadypos.host.keyring import KeyRing
from steadypos.host.records import TerminalRow
from steadypos.protocol.codec import Message
from steadypos.protocol.codes import ResponseCode
from steadypos.protocol.crypto import WorkingKeys
from steadypos.protocol.fields import Field60
from steadypos.protocol.messages import MessageType


@dataclass
class Request:
    msg: Message
    mt: MessageType
    terminal: TerminalRow
    keys: WorkingKeys | None  # the set the request's MAC verified under
    f60: Field60
    now: datetime
    keyring: KeyRing

    # Read once a request, here: handlers, its row and its log line ask for them seven times
    # (a cached_property would take its lock at each request's first read, dearer still).
    stan: int = field(init=False)
    amount: int = field(init=False)

    def __post_init__(self) -> None:
        self.stan = int(self.msg.get(11, "0") or 0)
        self.amount = int(self.msg.get(4, "0") or 0)


@dataclass
class Reply:
    """A handler's answer: F39 plus the fields the host adds (RRN, auth code, F54, F55, ...)."""

    rc: ResponseCode
    fields: dict[int, str] = field(default_factory=dict)
    pan_ref: str | None = None  # what the transaction row keeps to match voids and refunds
    account: str | None = None
    orig_id: int | None = None
