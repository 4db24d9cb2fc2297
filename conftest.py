"""Every test and every notebook kernel started by nbval runs at the tiny scale.

This file sits at the repository root so it also applies when only notebooks/ is collected.
"""

import os
import socket

import pytest

os.environ["GALZOO_SCALE"] = "tiny"
os.environ.setdefault("MPLBACKEND", "Agg")
# Tests and CI never reach a model hub: ImageNet weights come from the packaged EfficientNet-Lite0.
os.environ.setdefault("GALZOO_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def no_network(monkeypatch):
    """For model tests: GALZOO_OFFLINE is set and sockets refuse to connect, so nothing can
    reach a hub. Opt in with ``pytestmark = pytest.mark.usefixtures("no_network")`` (the
    download tests need their loopback server, so this is not global)."""
    monkeypatch.setenv("GALZOO_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise RuntimeError("a test tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture(scope="module")
def one_thread():
    """For modules of tiny models: one torch thread is faster than several fighting over a busy CPU.
    Opt in with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
