"""Overlapping data loading with compute: items of an iterable are produced one step ahead in a thread.

Image decoding (OpenCV, libpng) releases the GIL, so reading batch k+1 runs while batch k is scored or
predicted. Exceptions raised by the producer are re-raised in the consumer at the item they belong to.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items`` in order while a background thread produces up to ``depth`` of them ahead."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                buffer.put((item, None))
        except BaseException as exc:  # handed to the consumer, raised there
            buffer.put((None, exc))
        buffer.put((_DONE, None))

    thread = threading.Thread(target=produce, name="occbench-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, error = buffer.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full buffer
            try:
                buffer.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)
