"""Running a command under ``torchrun``: joining the process group, splitting samples, gathering results.

Outside torchrun (no ``RANK`` / ``WORLD_SIZE`` in the environment) every function is a no-op on one process, so
commands have one code path. Under torchrun the backend is NCCL for CUDA devices (each process on
``cuda:LOCAL_RANK``) and gloo on the CPU. When one process fails, torchrun stops the others.

Samples are split in contiguous blocks of whole batches (:func:`shard_batches`): every process sees exactly the
batches a single process would, in the same order, and concatenating the processes' results in rank order gives
the single-process order back. Batch-dependent numerics (convolution algorithms) and order-dependent ones (KID's
random subsets, float sums) therefore match the single-process run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from occbench.errors import OccbenchError


@dataclass(frozen=True)
class Dist:
    """This process's place in the run: ``rank`` of ``world_size``, the device it computes on, and whether it
    initialised the process group (then it destroys it at the end, :func:`leave`)."""

    rank: int
    world_size: int
    device: torch.device
    owns_group: bool

    @property
    def active(self) -> bool:
        return self.world_size > 1 or (dist.is_available() and dist.is_initialized())

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_distributed(device: str) -> Dist:
    """Join the ``torchrun`` process group (env ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK``); a no-op outside
    torchrun. ``device``: the device asked for; under torchrun a CUDA device becomes ``cuda:LOCAL_RANK``."""
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise OccbenchError("--device cuda: no CUDA device is available (use --device cpu)")
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return Dist(0, 1, dev, False)
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    if dev.type == "cuda":
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(dev)
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Dist(rank, world, dev, owns)


def leave(ddp: Dist) -> None:
    """Destroy the process group when :func:`setup_distributed` created it."""
    if ddp.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def shard_batches(count: int, batch_size: int, rank: int, world_size: int) -> slice:
    """The samples of process ``rank``: a contiguous block of whole batches of ``batch_size``.

    The ``ceil(count / batch_size)`` batches are split as evenly as possible, the first processes taking one more
    when they do not divide (process 0 has samples whenever there are any); a process gets none when there are
    fewer batches than processes.
    """
    if batch_size < 1 or world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"Expected batch_size >= 1 and 0 <= rank < world_size, but got {batch_size}, {rank}, "
                         f"{world_size}")
    base, extra = divmod(-(-count // batch_size), world_size)
    first = rank * base + min(rank, extra)
    last = first + base + (rank < extra)
    return slice(min(first * batch_size, count), min(last * batch_size, count))


def gather_objects(obj: Any, ddp: Dist) -> list[Any]:
    """``obj`` of every process, in rank order (picklable objects; ``[obj]`` outside torchrun)."""
    if not ddp.active:
        return [obj]
    items: list[Any] = [None] * ddp.world_size
    dist.all_gather_object(items, obj)
    return items


def gather_rows(tensor: torch.Tensor, ddp: Dist) -> torch.Tensor:
    """Concatenation in rank order of every process's ``(n_rank, ...)`` tensor (``n_rank`` may differ, 0 too),
    with torchmetrics' :func:`~torchmetrics.utilities.distributed.gather_all_tensors` (the function torchmetrics
    metrics synchronise their states with). Returned on the CPU."""
    if not ddp.active:
        return tensor.cpu()
    from occbench.compat import ensure_torchvision_importable

    ensure_torchvision_importable()
    from torchmetrics.utilities.distributed import gather_all_tensors

    parts = gather_all_tensors(tensor.to(ddp.device))
    return torch.cat([part.cpu() for part in parts])


def barrier(ddp: Dist) -> None:
    if ddp.active:
        dist.barrier()
