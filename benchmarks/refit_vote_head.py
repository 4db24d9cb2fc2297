"""Refit only the Dirichlet head of a model, its encoder frozen, on the galaxies it was trained on.

After :func:`galzoo_tools.models.interpolate_weights` the encoder's features are no longer the
ones its head was fitted to, so its vote fractions get worse (see
``bench_weight_interpolation.py``). This fits the head again, and nothing else: the encoder, and
so every representation-based figure (similarity, probes, real-galaxy transfer), stays exactly
as it was. The pooled features of the training galaxies are computed once, for ``--views`` of
the eight quarter-turn / mirror symmetries of each image; the head (dropout, linear, bounded
concentrations) then trains on them with the Dirichlet–multinomial loss, and the epoch with the
lowest validation loss is kept.

Reads the model's universe from its config (``trained_on``) and its split from the run folder,
so ``--model`` must be a pretrain run's model folder (or one that ``bench_weight_interpolation``
wrote). Writes ``OUT/model`` and copies the split, so ``bench_reference_model.py --model
OUT/model`` measures the result.

    python benchmarks/refit_vote_head.py --model runs/weight_interpolation/alpha_0.7/model \\
        --out runs/weight_interpolation/alpha_0.7_refit          # ~15 min on 2 CPU cores
"""

from __future__ import annotations

import argparse
import copy
import shutil
import time
from pathlib import Path

import torch

from galzoo_tools.augment import to_float_images
from galzoo_tools.catalog import read_catalog
from galzoo_tools.datasets import load_images
from galzoo_tools.jsonio import write_metrics
from galzoo_tools.losses import dirichlet_multinomial_loss
from galzoo_tools.models import (
    load_model,
    read_model_config,
    resolve_model_source,
    save_model,
)
from galzoo_tools.pretrain import read_split, split_path
from galzoo_tools.pretrain.frozen import N_SYMMETRIES, symmetry_view
from galzoo_tools.schema import decals_dr5
from galzoo_tools.synthetic import trained_universe
from galzoo_tools.synthetic.cache import cached_universe, universe_folder

RUN_KEYS = ("image_size", "channels", "trained_on", "seed")


@torch.no_grad()
def pooled_features(model: torch.nn.Module, images: torch.Tensor, views: int, batch_size: int = 128) -> torch.Tensor:
    """``(views, N, features)``: the encoder's pooled features of each image under the first ``views`` symmetries."""
    model.eval()
    out = []
    for k in range(views):
        parts = [model.embed(symmetry_view(to_float_images(images[s:s + batch_size]), k))
                 for s in range(0, len(images), batch_size)]
        out.append(torch.cat(parts))
    return torch.stack(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a pretrain run's model folder")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--views", type=int, default=2, help=f"symmetries per training galaxy (1-{N_SYMMETRIES})")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not 1 <= args.views <= N_SYMMETRIES:
        parser.error(f"--views must be 1-{N_SYMMETRIES}")

    start = time.perf_counter()
    torch.manual_seed(args.seed)
    folder = Path(resolve_model_source(args.model).location)
    config = read_model_config(folder)
    model = load_model(folder, device="cpu").float()
    n, size, seed, survey = trained_universe(config, folder)
    universe = universe_folder(n, size, seed, survey)
    table = read_catalog(cached_universe(universe, n, size, seed, progress=False, survey=survey), schema=decals_dr5)
    split = read_split(folder.parent).set_index("id_str")["split"]
    part = table["id_str"].map(split)
    train, val = table[part == "train"], table[part == "val"]

    train_x = pooled_features(model, load_images(train, size, 3), args.views)
    val_x = pooled_features(model, load_images(val, size, 3), 1)[0]
    feature_seconds = time.perf_counter() - start
    print(f"pooled features of {len(train):,} training galaxies x {args.views} views and {len(val):,} validation "
          f"galaxies in {feature_seconds:.0f} s", flush=True)
    train_votes = torch.tensor(train[decals_dr5.label_cols].to_numpy(), dtype=torch.float32)
    val_votes = torch.tensor(val[decals_dr5.label_cols].to_numpy(), dtype=torch.float32)

    head = model.head
    optimiser = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=1e-4)

    def val_loss() -> float:
        head.eval()
        with torch.no_grad():
            return dirichlet_multinomial_loss(val_votes, head(val_x), reduction="mean").item()

    best, best_state, history = val_loss(), copy.deepcopy(head.state_dict()), []
    print(f"validation loss with the old head: {best:.3f}")
    for epoch in range(args.epochs):
        head.train()
        order = torch.randperm(len(train))
        for s in range(0, len(order), 256):
            rows = order[s:s + 256]
            view = torch.randint(args.views, (len(rows),))
            loss = dirichlet_multinomial_loss(train_votes[rows], head(train_x[view, rows]), reduction="mean")
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        history.append(val_loss())
        print(f"epoch {epoch + 1}: validation loss {history[-1]:.3f}", flush=True)
        if history[-1] < best:
            best, best_state = history[-1], copy.deepcopy(head.state_dict())
    head.load_state_dict(best_state)

    save_model(model, args.out / "model", {**{k: config[k] for k in RUN_KEYS if k in config},
                                            "val_loss": best, "head_refit": {"from": str(args.model),
                                                                             "views": args.views}})
    split_file = split_path(folder.parent)
    shutil.copy(split_file, args.out / split_file.name)
    write_metrics(args.out / "metrics.json", {"val_loss": best, "history": history, "views": args.views,
                                              "seconds": round(time.perf_counter() - start, 1)})
    print(f"best validation loss {best:.3f}; model in {args.out / 'model'}")


if __name__ == "__main__":
    main()
