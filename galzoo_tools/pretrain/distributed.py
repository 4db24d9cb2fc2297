"""Data-parallel pretraining under ``torchrun``: which process this is, and how many there are."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

__all__ = ["DistributedContext", "distributed_context"]


@dataclass(frozen=True)
class DistributedContext:
    """Rank and world size; ``world_size == 1`` outside ``torchrun``."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def distributed_context() -> DistributedContext:
    """Join the process group that ``torchrun`` describes in the environment (if any).

    NCCL when each process has a GPU, gloo otherwise - which is how DDP is tested on CPU.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    import torch.distributed as dist

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend)
    return DistributedContext(rank=dist.get_rank(), local_rank=local_rank, world_size=dist.get_world_size())
