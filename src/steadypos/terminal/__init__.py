"""The terminal engine: a journaled payment state machine with automatic reversal and recovery."""
