"""Vote-fraction errors: the model, the oracle and the baseline measured the same way."""

import numpy as np
import pandas as pd
import pytest

from galzoo_tools.pretrain.evaluate import asked_mask, mean_fraction_baseline, vote_fraction_mae, vote_mae_report
from galzoo_tools.schema import decals_dr5
from galzoo_tools.votes import counts_to_fractions


def idx(col: str) -> int:
    return decals_dr5.answer(col).index


def two_galaxies() -> np.ndarray:
    counts = np.zeros((2, 34))
    counts[0, idx("smooth-or-featured-dr5_smooth")] = 8
    counts[0, idx("smooth-or-featured-dr5_featured-or-disk")] = 2
    counts[0, idx("how-rounded-dr5_round")] = 8
    counts[0, idx("disk-edge-on-dr5_no")] = 2  # only 2 of 10 asked: below the 50% cut
    counts[1, idx("smooth-or-featured-dr5_featured-or-disk")] = 4
    counts[1, idx("disk-edge-on-dr5_yes")] = 4
    return counts


def test_asked_mask_uses_half_the_volunteers():
    mask = asked_mask(two_galaxies())
    q = {q.name: q.index for q in decals_dr5.questions}
    assert mask[0, q["how-rounded-dr5"]] and not mask[0, q["disk-edge-on-dr5"]]
    assert mask[1, q["disk-edge-on-dr5"]] and not mask[1, q["how-rounded-dr5"]]


def test_perfect_predictions_have_zero_error_and_errors_add_up():
    counts = two_galaxies()
    observed = counts_to_fractions(counts)
    assert vote_fraction_mae(observed, counts)["mean"] == 0
    shifted = observed.copy()
    shifted[:, decals_dr5.question("smooth-or-featured-dr5").slice] += np.array([0.1, -0.1, 0.0])
    report = vote_fraction_mae(shifted, counts)
    assert report["smooth-or-featured-dr5"] == pytest.approx(0.2 / 3)
    assert report["how-rounded-dr5"] == 0


def test_report_with_truth_and_baseline():
    counts = two_galaxies()
    cat = pd.DataFrame(counts, columns=decals_dr5.label_cols)
    truth = counts_to_fractions(counts)
    for i, c in enumerate(decals_dr5.label_cols):
        cat[c + "_true_fraction"] = truth[:, i]
    report = vote_mae_report(truth, cat, cat)
    assert report["vote_mae"] == 0 and report["oracle_vote_mae"] == 0
    assert report["baseline_vote_mae"] > 0
    no_truth = vote_mae_report(truth, cat[decals_dr5.label_cols], cat)
    assert no_truth["oracle_vote_mae"] is None


def test_baseline_ignores_unasked_galaxies():
    base = mean_fraction_baseline(two_galaxies())
    assert base[idx("disk-edge-on-dr5_yes")] == pytest.approx(0.5)  # (0/2 + 4/4) / 2
    assert base[idx("how-rounded-dr5_round")] == 1.0  # only galaxy 0 was asked
