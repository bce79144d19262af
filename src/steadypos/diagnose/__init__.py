"""Flash-exit diagnosis: read event log v1, find episodes, score their causes, report them.

See docs/flash-exit-diagnosis.md for the contract and docs/diagnose.md for how to run it.
"""
