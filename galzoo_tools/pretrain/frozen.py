"""Train only the top of an encoder, on outputs of its frozen bottom computed once.

When the first blocks of an EfficientNet-style encoder are frozen, their output for a galaxy
never changes: computing it again every epoch is wasted arithmetic. It changes only with the
input, and random-angle augmentation would make every input new. So instead we use the eight
*exact* symmetries of a square image (four quarter turns, each with and without a mirror flip),
under which a galaxy is still a valid galaxy, and run the frozen bottom once per galaxy per
symmetry. Training then draws one of those eight cached outputs per galaxy per epoch and runs
only the top: the trainable blocks, the last convolution, pooling and the Dirichlet head.

:func:`split_encoder` returns the two halves as modules that share the model's parameters, so
the trained top *is* the top of the original model: save and predict with the whole model as
usual. :class:`CachedViews` is a dataset that :func:`galzoo_tools.pretrain.fit` can train the top on.
"""

from __future__ import annotations

import pandas as pd
import torch
from torch import nn
from torch.utils.data import Dataset

from ..augment import to_float_images
from ..schema import Schema, decals_dr5
from ..training_step import default_channels_last

__all__ = ["N_SYMMETRIES", "split_encoder", "symmetry_view", "cache_bottom", "CachedViews", "cached_views"]

N_SYMMETRIES = 8
"""Quarter turns (4) × mirror flip or not (2): the exact symmetries of a square pixel grid."""

_PARTS = ("conv_stem", "bn1", "blocks", "conv_head", "bn2", "global_pool")


class _Bottom(nn.Module):
    def __init__(self, model: nn.Module, n_blocks: int) -> None:
        super().__init__()
        self.model, self.n_blocks = model, n_blocks

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        encoder = self.model.encoder
        x = encoder.bn1(encoder.conv_stem(self.model.prepare(images)))
        for block in encoder.blocks[: self.n_blocks]:
            x = block(x)
        return x


class _Top(nn.Module):
    def __init__(self, model: nn.Module, n_blocks: int) -> None:
        super().__init__()
        self.model, self.n_blocks = model, n_blocks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        encoder = self.model.encoder
        for block in encoder.blocks[self.n_blocks:]:
            x = block(x)
        features = encoder.global_pool(encoder.bn2(encoder.conv_head(x))).flatten(1)
        if getattr(encoder, "drop_rate", 0.0):  # as timm's forward_head does
            features = nn.functional.dropout(features, encoder.drop_rate, self.training)
        return self.model.head(features)


def _check_split(encoder: nn.Module | None, frozen_blocks: int, name: str) -> None:
    """Refuse an encoder that is not EfficientNet-style, or a count that leaves no block to train."""
    if encoder is None or any(not hasattr(encoder, part) for part in _PARTS):
        raise ValueError(f"frozen blocks need an EfficientNet-style encoder (stem, blocks, head); {name} is not "
                         "one: leave frozen_blocks at 0 and train the whole network with augmentation")
    n_blocks = len(encoder.blocks)
    if not 0 <= frozen_blocks < n_blocks:
        raise ValueError(f"frozen_blocks must be between 0 and {n_blocks - 1} ({name} has {n_blocks} blocks and "
                         f"at least one must train), got {frozen_blocks}")


def check_frozen_blocks(backbone: str, frozen_blocks: int) -> None:
    """Refuse a ``frozen_blocks`` that ``backbone`` cannot split, before any galaxy is rendered.

    Builds the bare backbone (random weights, no download) only to count its blocks.
    """
    import timm

    if frozen_blocks:
        _check_split(timm.create_model(backbone, pretrained=False, num_classes=0), frozen_blocks, backbone)


def split_encoder(model: nn.Module, n_frozen_blocks: int) -> tuple[nn.Module, nn.Module]:
    """``(bottom, top)`` of a :class:`~galzoo_tools.models.ZooModel` with an EfficientNet-style encoder.

    ``bottom(images in [0, 1])`` runs the input normalisation, the stem and the first
    ``n_frozen_blocks`` blocks; ``top(bottom output)`` runs the rest and the head, so
    ``top(bottom(x))`` equals ``model(x)``. Both share ``model``'s parameters; the bottom's
    are frozen (``requires_grad=False``) and it is put in eval mode by :func:`cache_bottom`.
    """
    encoder = getattr(model, "encoder", None)
    _check_split(encoder, n_frozen_blocks, "the model's encoder")
    if not hasattr(model, "head"):
        raise ValueError(f"split_encoder needs a ZooModel with the vote head, not a {type(model).__name__}")
    for part in [encoder.conv_stem, encoder.bn1, *encoder.blocks[:n_frozen_blocks]]:
        part.requires_grad_(False)
    return _Bottom(model, n_frozen_blocks), _Top(model, n_frozen_blocks)


def symmetry_view(images: torch.Tensor, k: int) -> torch.Tensor:
    """Symmetry ``k`` (0-7) of a ``(B, C, H, W)`` batch: ``k % 4`` quarter turns, mirrored first if ``k >= 4``."""
    if not 0 <= k < N_SYMMETRIES:
        raise ValueError(f"symmetry k must be 0-{N_SYMMETRIES - 1}, got {k}")
    return torch.rot90(images.flip(-1) if k >= 4 else images, k % 4, dims=(-2, -1))


@torch.no_grad()
def cache_bottom(bottom: nn.Module, images: torch.Tensor, views: int = N_SYMMETRIES, batch_size: int = 64,
                 dtype: torch.dtype = torch.bfloat16, progress: bool = False) -> torch.Tensor:
    """The bottom's output for the first ``views`` symmetries of every image: ``(views, N, C, h, w)``, on the CPU.

    ``images``: uint8 or float in [0, 1], ``(N, C, H, W)``; each batch runs on the bottom's
    device. Stored in ``dtype`` (bfloat16 halves the memory; the top computes in float32).
    Batch norm uses its running statistics (eval mode). ``progress`` shows a bar over the images.
    """
    from tqdm.auto import tqdm

    bottom.eval()
    device = next(bottom.parameters()).device
    memory_format = torch.channels_last if default_channels_last(device) else torch.contiguous_format
    parts: list[list[torch.Tensor]] = [[] for _ in range(views)]
    starts = range(0, len(images), batch_size)
    for start in tqdm(starts, desc=f"frozen blocks x {views} views", unit="batch", disable=not progress):
        batch = to_float_images(images[start : start + batch_size].to(device))
        for k in range(views):
            parts[k].append(bottom(symmetry_view(batch, k).contiguous(memory_format=memory_format)).to(dtype).cpu())
    return torch.stack([torch.cat(view) for view in parts])


class CachedViews(Dataset):
    """``(cached bottom output, vote counts)`` pairs for :func:`~galzoo_tools.pretrain.fit`.

    Each time galaxy ``i`` is asked for, one of its cached views is drawn at random (from
    torch's random numbers, which ``fit`` saves in its checkpoints, so a resumed run draws the
    same ones). Give a validation set one view (the image as it is) for a fixed score.
    """

    def __init__(self, cache: torch.Tensor, counts: torch.Tensor) -> None:
        if cache.ndim != 5 or len(counts) != cache.shape[1]:
            raise ValueError(f"cache must be (views, N, C, h, w) with N = len(counts) = {len(counts)}, "
                             f"got {tuple(cache.shape)}")
        self.cache, self.counts = cache, torch.as_tensor(counts, dtype=torch.float32)

    def __len__(self) -> int:
        return self.cache.shape[1]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        view = int(torch.randint(self.cache.shape[0], ())) if self.cache.shape[0] > 1 else 0
        return self.cache[view, i].float(), self.counts[i]


def cached_views(bottom: nn.Module, catalog: pd.DataFrame, image_size: int, views: int = N_SYMMETRIES,
                 channels: int = 3, schema: Schema = decals_dr5, progress: bool = False) -> CachedViews:
    """A :class:`CachedViews` for the galaxies of ``catalog``: their images decoded at ``image_size``,
    run through ``bottom`` for the first ``views`` symmetries, and their vote counts (``schema``)."""
    from ..datasets import load_images

    counts = torch.tensor(catalog[schema.label_cols].to_numpy(), dtype=torch.float32)
    images = load_images(catalog, image_size, channels, progress=progress)
    return CachedViews(cache_bottom(bottom, images, views, progress=progress), counts)
