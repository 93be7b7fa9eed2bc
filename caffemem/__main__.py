"""``python -m caffemem`` runs the command line (named caffemem in its help and completion)."""

from caffemem.cli import main

main(prog_name="caffemem")
