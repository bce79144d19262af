"""Fault injection and invariant checking: a frame-aware fault proxy for pos-link-v1 (toxics in
the spirit of Toxiproxy, seeded so that a run replays), switchable at run time from code or HTTP."""
