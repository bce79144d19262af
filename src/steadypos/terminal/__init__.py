"""The payment terminal: a journaled state machine with automatic reversal and recovery, in rooms:
lifecycle (open, link, keys), online (one request out, its answer in), settlement, recovery,
flows (the operator's commands; `flows.Terminal` is the whole terminal)."""
