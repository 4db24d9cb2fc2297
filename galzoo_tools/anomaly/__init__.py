"""Personalised anomaly detection with active learning (the second task of Walmsley et al. 2022).

A researcher wants *their* kind of unusual galaxy, not whatever is statistically odd. Starting
from a representation (``features``), the workflow is:

1. :func:`compress_features`: PCA to 40 components, standardised (:mod:`.features`);
2. a strategy shows the researcher galaxies and learns their 0-5 scores: the paper's
   :class:`GPActiveLearner` (Gaussian process + expected improvement), the
   :class:`AstronomalyLearner` baseline, or :class:`RandomLearner`; plain
   :func:`isolation_forest_scores` / :func:`lof_scores` use no labels at all;
3. ``learner.ranking()`` lists every galaxy, most interesting first.

:func:`rank_by_interest` (:mod:`.run`) does all three for every chosen method and writes the
ranking, as ``galzoo anomaly`` does.

Scores come from a person (the widget of :mod:`.labeller`) or from a simulated researcher
(:mod:`.personas`), which is how :mod:`.evaluate` measures everything against the truth.

>>> x = compress_features(embeddings.features)
>>> learner = GPActiveLearner(x, seed=0)
>>> batch = learner.next_batch(10)            # show these to the researcher
>>> learner.add_labels(batch, [0, 0, 5, 1, 0, 0, 0, 4, 0, 0])
>>> learner.ranking()[:50]                    # the 50 galaxies most likely to interest them
"""

from .base import ActiveLearner, RandomLearner, rank_with_labels
from .baselines import (
    AstronomalyLearner,
    distance_weighted_score,
    isolation_forest_scores,
    lof_scores,
    nearest_labelled_distance,
    rescale_scores,
)
from .evaluate import (
    LEARNERS,
    METHOD_LABELS,
    compare_methods,
    make_learner,
    run_learner,
    simulate_labelling,
    summarise,
    unsupervised_metrics,
)
from .features import DEFAULT_COMPONENTS, compress_features
from .gp_active import XI, GPActiveLearner, GPFit, expected_improvement, fit_gp, gp_predict
from .metrics import DEFAULT_KS, average_precision, precision_at_k, rank_weighted_score, ranking_metrics
from .personas import INTERESTING_AT, PERSONAS, Persona, SimulatedResearcher, persona_scores, rare_subset
from .run import DEFAULT_METHODS, METHODS, UNSUPERVISED, InterestRanking, interest_scores, parse_methods, rank_by_interest

__all__ = [
    "ActiveLearner", "RandomLearner", "GPActiveLearner", "AstronomalyLearner", "LEARNERS", "METHOD_LABELS",
    "make_learner", "run_learner", "simulate_labelling", "compare_methods", "summarise", "unsupervised_metrics",
    "compress_features", "DEFAULT_COMPONENTS", "rank_with_labels",
    "isolation_forest_scores", "lof_scores", "rescale_scores", "nearest_labelled_distance", "distance_weighted_score",
    "GPFit", "fit_gp", "gp_predict", "expected_improvement", "XI",
    "precision_at_k", "average_precision", "rank_weighted_score", "ranking_metrics", "DEFAULT_KS",
    "PERSONAS", "Persona", "INTERESTING_AT", "persona_scores", "rare_subset", "SimulatedResearcher",
    "rank_by_interest", "InterestRanking", "interest_scores", "parse_methods", "METHODS", "DEFAULT_METHODS",
    "UNSUPERVISED",
]  # fmt: skip
