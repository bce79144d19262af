"""Fleet simulator: event log v1 for N terminals over D days, causes from the whole taxonomy.

Physical models, not a code book: temperature follows load with thermal inertia and a hot
terminal exits by watchdog/crash at its peaks; a memory leak drains free memory flow by flow until
an out-of-memory exit; network outages are merchant-wide windows; a bad release crashes every
model that installed it after its rollout date; a firmware that does not fit crashes in the vendor
SDK; worn readers get worse day by day. Healthy terminals see the odd timeout, cancel, read error
and a fleet-wide host slowdown overlaps everything. Deterministic for a given seed.
"""
