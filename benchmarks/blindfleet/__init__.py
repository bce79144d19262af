"""A second, independently written fleet generator for flash-exit diagnosis (event log v1).

Written from the domain document alone; see README.md for how each cause is modelled.
"""
