"""caffemem's fuzzer: mutated nets, logs and caffemodels through the CLI, each under a time and memory limit.

``mutate`` holds the mutators, ``seeds`` the inputs they start from, ``run`` the forked runner and
its judge of what a failure is; ``python -m tests.fuzz`` is the long run, ``test_fuzz_quick`` the
quick one inside pytest, ``regressions/`` the minimised inputs of what it found.
"""
