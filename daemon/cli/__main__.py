"""`python -m daemon.cli` runs the CLI (used by tests that need a subprocess)."""

from daemon.cli import main

main()
