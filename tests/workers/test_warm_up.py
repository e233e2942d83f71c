"""What every render worker runs before its first task: ``pipeline.warm_up``."""

from __future__ import annotations

import resource

from service import pipeline


def test_warm_up_runs_and_keeps_large_buffers() -> None:
    pipeline.warm_up()
    for _ in range(2):  # the second 16 MB buffer reuses the first one's pages
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        buffer = bytearray(16 * 1024 * 1024)
        del buffer
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 16 * 1024 * 1024 // 4096 // 20
