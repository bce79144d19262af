"""The one error type of the protocol layer: what is wrong, in which field, at which byte."""

from __future__ import annotations


class ProtocolError(ValueError):
    """Malformed or non-conforming input. `offset` counts bytes from the start of the frame."""

    def __init__(self, message: str, field: str = "frame", offset: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.offset = offset

    def __str__(self) -> str:
        return f"{self.field} at byte {self.offset}: {self.message}"
