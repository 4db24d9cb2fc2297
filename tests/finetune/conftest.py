"""Shared by the fine-tuning tests: no network, and one thread for their tiny models."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _no_network(no_network):
    """Fine-tuning builds models from sources; none may reach a hub."""


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """These models are tiny: one thread is faster than several fighting over a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
