"""Training images/s: galzoo's loop (real PNGs, augmentation, loss, checkpoints) vs a bare loop.

Also prints the cost of augmenting one batch per image (torchvision, in the loader) and as a
batch (BatchAugment), which is why the loop augments on the device, and of one AdamW step with
PyTorch's default kernel (a loop over the tensors on a CPU, "foreach" on CUDA) and with the fused
kernel ``fit`` uses (``training_step.adamw``).

The bare loop is forward + backward + AdamW step of the same model on one in-memory tensor
batch: the most a training loop could reach. Like ``fit``, it runs inside
:func:`galzoo_tools.cpu_memory.keep_freed_memory`; on a CPU it is timed without it too. The target is galzoo ≥ 0.9 × bare.

    python benchmarks/bench_training.py [--size 64] [--batch 64] [--n 1024] [--backbone efficientnet_lite0]
    python benchmarks/bench_training.py --device cuda --size 128 --batch 256 --n 8192 \
        --bare-batches 512 1024                                                          # on a GPU

On CUDA both loops use what ``fit`` uses there: autocast (bf16 where supported) and
channels-last memory; the timings wait for the GPU to finish. On a CPU they use channels-last
memory too, as ``fit`` does there; the bare loop is also timed in the other memory format, to
show why that is the default. galzoo's loop is timed both ways it can get its batches: from a
DataLoader (the default on a CPU) and from images kept on the device
(``TrainConfig.data_on_device``, the default on a GPU when they fit).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from galzoo_tools import cpu_memory
from galzoo_tools.augment import BatchAugment
from galzoo_tools.datasets import GalaxyDataset, resize_transform
from galzoo_tools.losses import dirichlet_multinomial_loss
from galzoo_tools.models import build_model
from galzoo_tools.schema import decals_dr5
from galzoo_tools.config import worker_processes
from galzoo_tools.synthetic import write_universe
from galzoo_tools.catalog import read_catalog
from galzoo_tools.config import get_device
from galzoo_tools.pretrain import TrainConfig, fit
from galzoo_tools.training_step import adamw, amp_dtype, default_channels_last


def bare_images_per_second(backbone: str, size: int, batch: int, steps: int, device: torch.device,
                           channels_last: bool | None = None) -> float:
    """Forward + loss + backward + step on a fixed tensor: no data loading at all.

    ``channels_last=None`` uses the memory format ``fit`` uses on ``device``."""
    torch.manual_seed(0)
    cuda = device.type == "cuda"
    channels_last = default_channels_last(device) if channels_last is None else channels_last
    model = build_model("scratch", backbone=backbone).to(device).train()
    images = torch.rand(batch, 3, size, size, device=device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    opt = adamw(model.parameters(), device, lr=1e-3)  # the optimiser fit uses
    counts = torch.randint(0, 5, (batch, decals_dr5.n_answers), device=device).float()
    for i in range(steps + 2):
        if i == 2:
            if cuda:
                torch.cuda.synchronize(device)
            start = time.perf_counter()
        with torch.autocast(device.type, dtype=amp_dtype(device), enabled=cuda):
            concentrations = model(images)
        loss = dirichlet_multinomial_loss(counts, concentrations.float(), reduction="mean")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if cuda:
        torch.cuda.synchronize(device)
    return steps * batch / (time.perf_counter() - start)


def augmentation_ms_per_batch(size: int, batch: int, repeats: int = 10) -> tuple[float, float]:
    """Milliseconds to augment one batch: torchvision per image vs BatchAugment on the batch."""
    from galzoo_tools.datasets import train_transform

    images = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8)
    per_image, batched = train_transform(size), BatchAugment(size)
    timings = []
    for fn in (lambda: [per_image(x) for x in images], lambda: batched(images)):
        fn()
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        timings.append((time.perf_counter() - start) / repeats * 1e3)
    return timings[0], timings[1]


def optimiser_ms_per_step(backbone: str, device: torch.device, repeats: int = 20) -> tuple[float, float]:
    """Milliseconds for one AdamW step over the whole model: PyTorch's default kernel vs ``adamw``'s fused one."""
    model = build_model("scratch", backbone=backbone).to(device)
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    timings = []
    for fused in (False, True):
        opt = adamw(model.parameters(), device, lr=1e-3) if fused else torch.optim.AdamW(model.parameters(), lr=1e-3)
        for i in range(repeats + 3):
            if i == 3:
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                start = time.perf_counter()
            opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        timings.append((time.perf_counter() - start) / repeats * 1e3)
    return timings[0], timings[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--n", type=int, default=1024, help="training galaxies (one epoch)")
    parser.add_argument("--backbone", default="efficientnet_lite0")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, or auto (the best there is)")
    parser.add_argument("--bare-batches", type=int, nargs="*", default=[],
                        help="also time the bare loop at these batch sizes (does a bigger batch help?)")
    args = parser.parse_args()
    device = get_device() if args.device == "auto" else torch.device(args.device)
    print(f"torch threads: {torch.get_num_threads()}, device: {device}")

    with tempfile.TemporaryDirectory() as tmp:
        cat_path = write_universe(Path(tmp) / "u", n=args.n + 64, size=args.size, seed=0, progress=False,
                                  processes=worker_processes())
        catalog = read_catalog(cat_path)
        ours = {}
        for name, on_device in (("DataLoader", False), ("data on device", True)):
            train = GalaxyDataset(catalog.iloc[: args.n], transform=resize_transform(args.size))
            val = GalaxyDataset(catalog.iloc[args.n:], transform=resize_transform(args.size))
            torch.manual_seed(0)
            model = build_model("scratch", backbone=args.backbone)
            config = TrainConfig(epochs=2, batch_size=args.batch, patience=5, data_on_device=on_device)
            result = fit(model, train, val, Path(tmp) / f"run_{on_device}", config, device=device, progress=False,
                         augment=BatchAugment(args.size))
            # epoch 1 includes first-call warm-up; report epoch 2 (decoding is timed separately)
            ours[name] = (args.n // args.batch) * args.batch / result.history[1]["seconds"]
            print(f"galzoo fit, {name}: decoded and staged {len(train) + len(val)} images in "
                  f"{result.cache_seconds:.1f} s")
    steps = max(4, args.n // args.batch // 2)
    with cpu_memory.keep_freed_memory():  # as fit does
        bare = bare_images_per_second(args.backbone, args.size, args.batch, steps, device)
        other = bare_images_per_second(args.backbone, args.size, args.batch, steps, device,
                                       channels_last=not default_channels_last(device))
    layout = "channels-last" if default_channels_last(device) else "contiguous"
    print(f"bare loop, memory format: {layout} (fit's default here) {bare:.1f} images/s, the other "
          f"{other:.1f} ({bare / other:.2f} x)")
    if device.type == "cpu":
        default_malloc = bare_images_per_second(args.backbone, args.size, args.batch, steps, device)
        print(f"bare loop with glibc's default malloc: {default_malloc:.1f} images/s; with keep_freed_memory "
              f"{bare:.1f} ({bare / default_malloc:.2f} x)"
              + ("" if cpu_memory.available() else " - inactive here: not glibc, or MALLOC_* set"))
    print(f"{'loop':<40}{'images/s':>10}{'/ bare':>8}")
    print(f"{'bare (in-memory tensors)':<40}{bare:>10.1f}{1:>8.2f}")
    for name, rate in ours.items():
        print(f"{'galzoo fit, ' + name + ' (epoch 2)':<40}{rate:>10.1f}{rate / bare:>8.2f}")
    default = "data on device" if device.type == "cuda" else "DataLoader"
    print(f"ratio galzoo / bare: {ours[default] / bare:.2f} with the default path on {device.type} "
          f"({default}; target >= 0.90)")
    for batch in args.bare_batches:
        rate = bare_images_per_second(args.backbone, args.size, batch, max(4, args.n // batch // 2), device)
        print(f"bare loop at batch {batch}: {rate:.1f} images/s ({rate / bare:.2f} x batch {args.batch})")
    plain, fused = optimiser_ms_per_step(args.backbone, device)
    print(f"one AdamW step over the model: PyTorch's default {plain:.1f} ms, fused (training_step.adamw, what fit uses) "
          f"{fused:.1f} ms ({plain / fused:.1f}x faster)")
    per_image, batched = augmentation_ms_per_batch(args.size, args.batch)
    print(f"augmenting one batch of {args.batch}: per image (torchvision) {per_image:.1f} ms, "
          f"BatchAugment {batched:.1f} ms ({per_image / batched:.1f}x faster)")


if __name__ == "__main__":
    main()
