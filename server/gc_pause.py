"""Bulk request work without the cyclic garbage collector's passes.

A semester's push decodes into ~27,000 changes, each a tuple holding a key tuple and a row tuple,
and the centre builds as many version tuples: every 700 new containers CPython runs a
generation-0 pass, and twice during such a push a full pass over the whole heap (the process's
modules included). Measured on the bench's 27,082-change push (bench row 5a): ~85 ms of CPU, a
fifth of the push. Decoding and applying make no reference cycles, so reference counting frees
all of it anyway; msgpack's documentation gives the same advice for unpacking large messages.

The pause is process-wide (CPython has one collector), so it is counted: requests in several
threads may overlap, and the collector comes back when the last one leaves. Under a load where
pauses overlap without a gap, a full pass still runs every `_LONGEST_PAUSE_S`, so cycles made by
other code (an exception's traceback) are never kept for long.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_LONGEST_PAUSE_S = 5.0

_lock = threading.Lock()
_depth = 0
_was_enabled = False
_since = 0.0


@contextmanager
def no_gc_passes() -> Iterator[None]:
    """Run the block with the cyclic collector off (reference counting still frees memory)."""
    global _depth, _was_enabled, _since
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            _since = time.monotonic()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        overdue = False
        with _lock:
            _depth -= 1
            if _was_enabled:
                if _depth == 0:
                    gc.enable()
                elif time.monotonic() - _since > _LONGEST_PAUSE_S:
                    _since = time.monotonic()
                    overdue = True
        if overdue:  # outside the lock: a finalizer run by the pass may enter a pause itself
            gc.collect()
