"""Re-measure a `galzoo pretrain` run on simulated galaxies from its saved model, on this machine
(`galzoo_tools.pretrain.remeasure_run`).

Re-simulates the run's validation and test galaxies (the simulator is deterministic per
galaxy; n and seed come from the model's ``trained_on``), then prints the validation loss of
all of them and of the first ``VAL_CHECK_SIZE`` (``metrics["val_check"]``), and the test
split's vote-fraction MAE beside the oracle and the training-mean baseline. ``--write``
stores these in the run's ``metrics.json`` (with the split's sizes), keeping what is there already.

Use it when a run stopped after its last epoch but before its own evaluation (a GPU lease
that ran out, say), or to check a run's figures in float32 on a CPU.

    python benchmarks/evaluate_run.py --run runs/my_pretrain [--write]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from galzoo_tools.jsonio import write_metrics
from galzoo_tools.pretrain import remeasure_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=Path, required=True, help="a galzoo pretrain output folder")
    parser.add_argument("--write", action="store_true", help="store the figures in RUN/metrics.json")
    args = parser.parse_args()
    figures = remeasure_run(args.run)
    print(json.dumps(figures, indent=1))
    if args.write:
        path = args.run / "metrics.json"
        metrics = json.loads(path.read_text()) if path.exists() else {}
        write_metrics(path, metrics | figures)
        print(f"written to {path}")


if __name__ == "__main__":
    main()
