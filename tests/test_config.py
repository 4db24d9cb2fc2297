"""Machine-size helpers in galzoo_tools.config."""

import pytest

from galzoo_tools.config import cpu_cores, worker_processes


@pytest.mark.parametrize("cores, expected", [(1, 1), (2, 1), (4, 4), (16, 16)])
def test_worker_processes_uses_every_core_only_on_bigger_machines(monkeypatch, cores, expected):
    monkeypatch.setattr("os.sched_getaffinity", lambda _: set(range(cores)), raising=False)
    assert cpu_cores() == cores
    assert worker_processes() == expected
