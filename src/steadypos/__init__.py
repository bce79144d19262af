"""steadypos: a POS payment stack that never loses or doubles money, and a flash-exit diagnosis."""

__version__ = "0.1.0"
