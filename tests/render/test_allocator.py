"""The allocator keeps large buffers between renders: the second 16 MB buffer costs no page faults."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import resource, sys
from service.render.allocator import keep_large_buffers
tuned = sys.argv[1] == "tuned"
if tuned:
    assert keep_large_buffers()

def faults_of_one_buffer():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    buffer = bytearray(16 * 1024 * 1024)  # written to: every page is touched
    del buffer
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

faults_of_one_buffer()
print(faults_of_one_buffer())
"""


def faults_of_a_second_buffer(mode: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True
    )
    return int(result.stdout)


def test_large_buffers_are_reused_instead_of_faulted_in_again() -> None:
    pages = 16 * 1024 * 1024 // 4096
    assert faults_of_a_second_buffer("default") > pages // 2  # munmap'd, faulted in again
    assert faults_of_a_second_buffer("tuned") < pages // 20  # the same heap pages, reused
