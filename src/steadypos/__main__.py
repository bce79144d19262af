"""`python -m steadypos` runs the CLI (the demo starts terminals this way)."""

from steadypos.cli import main

main()
