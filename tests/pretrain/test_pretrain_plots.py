"""The evaluation figures draw what they claim from the numbers they are given."""

import numpy as np

from galzoo_tools.pretrain.plots import plot_calibration, plot_history, plot_predicted_vs_observed
from galzoo_tools.schema import decals_dr5
from galzoo_tools.votes import counts_to_fractions


def counts(n: int = 60) -> np.ndarray:
    rng = np.random.default_rng(0)
    c = np.zeros((n, 34))
    smooth = rng.integers(0, 11, n)
    c[:, decals_dr5.answer("smooth-or-featured-dr5_smooth").index] = smooth
    c[:, decals_dr5.answer("smooth-or-featured-dr5_featured-or-disk").index] = 10 - smooth
    c[:, decals_dr5.answer("merging-dr5_none").index] = 10
    return c


def test_history_has_both_curves():
    fig = plot_history([{"epoch": 0, "train_loss": 3.0, "val_loss": 2.5}, {"epoch": 1, "train_loss": 2.0, "val_loss": 2.2}])
    lines = fig.axes[0].get_lines()
    assert [list(line.get_ydata()) for line in lines] == [[3.0, 2.0], [2.5, 2.2]]


def test_scatter_uses_only_galaxies_asked_the_question():
    c = counts()
    predicted = counts_to_fractions(c)
    fig = plot_predicted_vs_observed(predicted, c, answers=["smooth-or-featured-dr5_smooth", "how-rounded-dr5_round"])
    first, second = fig.axes[0], fig.axes[1]
    assert len(first.collections[0].get_offsets()) == 60
    assert len(second.collections[0].get_offsets()) == 0  # nobody was asked how rounded


def test_perfect_predictions_lie_on_the_calibration_diagonal():
    c = counts(400)
    fig = plot_calibration(counts_to_fractions(c), c, answers=["smooth-or-featured-dr5_smooth"])
    x, y = fig.axes[0].get_lines()[1].get_data()
    np.testing.assert_allclose(x, y)
