"""Which role each net of a run plays (Solver::Solve's schedule), from the solver alone."""

from __future__ import annotations

import pytest

from caffemem.memory.plan import runs_tests
from caffemem.proto import caffe_pb2


def solver(**fields) -> caffe_pb2.SolverParameter:
    sp = caffe_pb2.SolverParameter()
    for k, v in fields.items():
        setattr(sp, k, v)
    return sp


@pytest.mark.parametrize(("fields", "runs"), [
    ({"max_iter": 2}, False),  # no test_interval: never tested
    ({"max_iter": 2, "test_interval": 1000}, True),  # test_initialization defaults to true
    ({"max_iter": 2, "test_interval": 1000, "test_initialization": False}, False),
    ({"max_iter": 2000, "test_interval": 1000, "test_initialization": False}, True),  # at iteration 1000
    ({"max_iter": 1000, "test_interval": 1000, "test_initialization": False}, True),  # after the last one
    ({"max_iter": 999, "test_interval": 1000, "test_initialization": False}, False),
    ({"max_iter": 0, "test_interval": 1000, "test_initialization": False}, True),  # the final test at 0
])
def test_tests_run(fields, runs):
    assert runs_tests(solver(**fields)) is runs
