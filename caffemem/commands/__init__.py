"""One module per command: each takes what the user asked and returns a result, printing nothing.

``check.run_check``, ``log.run_log``, ``postmortem.postmortem``, ``reconcile.reconcile``,
``upgrade.run_upgrade``, ``audit.run.run_audit``; ``lognet`` finds the net behind a log for the
post-mortem. The writers of :mod:`caffemem.report` turn the results into text; the CLI only wires
options to a command and its result to a writer.
"""
