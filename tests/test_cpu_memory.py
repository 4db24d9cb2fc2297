"""keep_freed_memory: big freed blocks are reused inside the block, and glibc's defaults return after."""

import os
import resource

import pytest
import torch

from galzoo_tools import cpu_memory
from galzoo_tools.cpu_memory import keep_freed_memory

pytestmark = pytest.mark.skipif(cpu_memory._LIBC is None, reason="glibc only")


def page_faults_of_convolutions(n: int = 4) -> int:
    """Minor page faults while a convolution makes (and frees) a 64 MiB output ``n`` times."""
    conv = torch.nn.Conv2d(3, 32, 3, padding=1)
    images = torch.rand(8, 3, 256, 256)
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    with torch.inference_mode():
        for _ in range(n):
            conv(images).relu_()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start


@pytest.fixture()
def no_user_malloc_settings(monkeypatch):
    for key in [k for k in os.environ if k.startswith("MALLOC_")]:
        monkeypatch.delenv(key)
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    assert cpu_memory.available()


def test_big_buffers_are_reused_inside_and_given_back_after(no_user_malloc_settings):
    outside = page_faults_of_convolutions()
    assert outside > 4 * 10_000  # every output is fresh pages (16,384 of them)
    with keep_freed_memory():
        page_faults_of_convolutions(1)  # the heap grows once
        with keep_freed_memory():  # nesting keeps the setting
            pass
        inside = page_faults_of_convolutions()
    after = page_faults_of_convolutions()
    assert inside < 0.1 * outside
    assert after > 0.5 * outside  # the defaults are back (and the heap was trimmed)


def test_a_users_own_malloc_settings_are_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "2")
    assert not cpu_memory.available()
    with keep_freed_memory():
        assert cpu_memory._depth == 0
