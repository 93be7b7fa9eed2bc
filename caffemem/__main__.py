"""``python -m caffemem`` runs the command line."""

from caffemem.cli import main

main()
