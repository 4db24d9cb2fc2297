"""The labelling widget: buttons score, batches go to the learner, undo steps back; static fallback draws."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

from galzoo_tools.anomaly import RandomLearner, SimulatedResearcher
from galzoo_tools.anomaly.labeller import Labeller


def tiny_images(n: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, size=(n, 3, 16, 16), dtype=np.uint8)


def test_buttons_score_and_batches_reach_the_learner() -> None:
    pytest.importorskip("ipywidgets")
    learner = RandomLearner(np.zeros((30, 2)), seed=0)
    labeller = Labeller(learner, tiny_images(30), budget=12, batch_size=5, display_px=32)
    box = labeller.widget
    assert labeller._picture.value[:4] == b"\x89PNG"
    first = labeller.current
    labeller.buttons[5].click()
    assert labeller.n_labelled == 1 and learner.n_labelled == 0  # held until the batch is complete
    for _ in range(4):
        labeller.buttons[0].click()
    assert learner.n_labelled == 5 and learner.labels.tolist() == [5, 0, 0, 0, 0]
    assert learner.labelled[0] == first and labeller._progress.value == 5
    labeller.undo_button.click()  # reopens the finished batch at its last galaxy
    assert learner.n_labelled == 0 and labeller.n_labelled == 4
    labeller.buttons[2].click()
    assert learner.labels.tolist() == [5, 0, 0, 0, 2]
    labeller.answer_with(lambda idx: np.full(len(idx), 1.0))
    assert labeller.done and learner.n_labelled == 12 and all(b.disabled for b in labeller.buttons)
    assert "Done" in labeller._caption.value and box is labeller.widget


def test_simulated_researcher_presses_the_buttons_without_a_widget(tmp_path) -> None:
    paths = []
    for i in range(8):
        path = tmp_path / f"g{i}.png"
        Image.fromarray(np.full((20, 20, 3), i * 30, np.uint8)).save(path)
        paths.append(str(path))
    catalog = pd.DataFrame({"id_str": [f"gal{i}" for i in range(8)], "file_loc": paths})
    scores = np.array([0, 5, 0, 4, 0, 0, 1, 0], float)
    learner = RandomLearner(np.zeros((8, 2)), seed=3)
    labeller = Labeller(learner, catalog, budget=6, batch_size=4)
    labeller.answer_with(SimulatedResearcher(scores))
    assert learner.n_labelled == 6
    np.testing.assert_array_equal(learner.labels, scores[learner.labelled])
    fig = labeller.figure()
    assert isinstance(fig, Figure) and len([a for a in fig.axes if a.images]) == 6
    assert labeller.image(1).shape == (20, 20, 3)


def test_undo_within_a_batch_and_bad_input() -> None:
    learner = RandomLearner(np.zeros((10, 2)), seed=0)
    labeller = Labeller(learner, tiny_images(10), budget=4, batch_size=4)
    shown = labeller.current
    labeller.score(3)
    labeller.undo()
    assert labeller.n_labelled == 0 and labeller.current == shown
    labeller.undo()  # nothing to undo: no error
    with pytest.raises(ValueError, match="0 to 5"):
        labeller.score(9)
    with pytest.raises(ValueError, match="must match"):
        Labeller(learner, tiny_images(9))
