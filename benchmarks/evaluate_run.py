"""Re-measure a `galzoo pretrain` run on simulated galaxies from its saved model, on this machine.

Re-simulates the run's validation and test galaxies (the simulator is deterministic per
galaxy; n and seed come from the model's ``trained_on``), then prints the validation loss of
all of them and of the first ``VAL_CHECK_SIZE`` (``metrics["val_check"]``), and the test
split's vote-fraction MAE beside the oracle and the training-mean baseline. ``--write``
stores these in the run's ``metrics.json``, keeping what is there already.

Use it when a run stopped after its last epoch but before its own evaluation (a GPU lease
that ran out, say), or to check a run's figures in float32 on a CPU.

    python benchmarks/evaluate_run.py --run runs/my_pretrain [--write]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from galzoo_tools.evaluation import vote_mae_report
from galzoo_tools.losses import dirichlet_multinomial_loss
from galzoo_tools.models import load_model, read_model_config
from galzoo_tools.pretraining import VAL_CHECK_SIZE, read_split
from galzoo_tools.schema import decals_dr5
from galzoo_tools.synthetic import render, simulate_catalog


def concentrations_for(model: torch.nn.Module, morphology, rows: np.ndarray, size: int, chunk: int = 2000) -> torch.Tensor:
    """Render galaxies ``rows`` chunk by chunk (to bound memory) and run the model on them."""
    out = []
    with torch.inference_mode():
        for start in range(0, len(rows), chunk):
            images = torch.from_numpy(render(morphology.take(rows[start : start + chunk]), size)).permute(0, 3, 1, 2)
            out += [model(b.float() / 255) for b in images.split(256)]
    return torch.cat(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=Path, required=True, help="a galzoo pretrain output folder")
    parser.add_argument("--write", action="store_true", help="store the figures in RUN/metrics.json")
    args = parser.parse_args()

    config = read_model_config(args.run / "model")
    made = re.search(r"--n (\d+) --size (\d+) --seed (\d+)", config.get("trained_on", ""))
    if made is None:
        raise SystemExit(f"{args.run / 'model' / 'config.json'}: trained_on does not name a simulated universe")
    n, size, seed = (int(g) for g in made.groups())
    split = read_split(args.run)
    model = load_model(args.run / "model", device="cpu").eval()
    morphology, catalog = simulate_catalog(n, seed=seed)
    position = pd.Series(np.arange(len(catalog)), index=catalog["id_str"])
    figures: dict = {}
    for name in ("val", "test"):
        rows = position[split.loc[split["split"] == name, "id_str"]].to_numpy()
        conc = concentrations_for(model, morphology, rows, size)
        counts = torch.tensor(catalog.iloc[rows][decals_dr5.label_cols].to_numpy(), dtype=torch.float32)
        loss = dirichlet_multinomial_loss(counts, conc, decals_dr5).sum(1)
        if name == "val":
            figures["val_loss_float32"] = float(loss.mean())
            figures["val_check"] = {"n": min(VAL_CHECK_SIZE, len(rows)), "loss": float(loss[:VAL_CHECK_SIZE].mean())}
        else:
            fractions = torch.empty_like(conc)
            for q in decals_dr5.questions:
                fractions[:, q.slice] = conc[:, q.slice] / conc[:, q.slice].sum(1, keepdim=True)
            fractions = fractions.numpy()
            train = catalog.iloc[position[split.loc[split["split"] == "train", "id_str"]].to_numpy()]
            figures |= vote_mae_report(fractions, catalog.iloc[rows], train)
            figures["evaluated_on"] = "test"
    print(json.dumps(figures, indent=1))
    if args.write:
        path = args.run / "metrics.json"
        metrics = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps(metrics | figures, indent=1))
        print(f"written to {path}")


if __name__ == "__main__":
    main()
