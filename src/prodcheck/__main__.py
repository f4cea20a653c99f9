"""`python -m prodcheck` runs the command line."""

from prodcheck.cli import main

main()
