"""Shared by the fine-tuning tests: no network, and one thread for their tiny models."""

import pytest


@pytest.fixture(autouse=True)
def _no_network(no_network):
    """Fine-tuning builds models from sources; none may reach a hub."""


@pytest.fixture(autouse=True, scope="module")
def _one_thread(one_thread):
    """These models are tiny: one thread (the root conftest's ``one_thread``)."""
