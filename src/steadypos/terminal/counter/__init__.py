"""The counter: what a cashier reads and runs (words from the catalogue, status, reprint, the
receipt, training, and the Textual screen `steadypos terminal ui`)."""
