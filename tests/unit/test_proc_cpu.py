"""/proc CPU accounting: a process's total and its main thread's share, as the replay
benchmark splits the worker into its event loop and its model threads."""

from __future__ import annotations

import os
import threading
import time

from ops.proc_cpu import cpu_seconds, main_thread_cpu_seconds


def test_cpu_of_another_thread_counts_for_the_process_not_its_main_thread() -> None:
    pid = os.getpid()
    total_before, main_before = cpu_seconds(pid), main_thread_cpu_seconds(pid)
    assert total_before is not None and main_before is not None

    def burn() -> None:
        started = time.thread_time()
        while time.thread_time() - started < 0.3:
            pass

    worker = threading.Thread(target=burn)
    worker.start()
    worker.join()  # the main thread sleeps in join: next to no CPU
    total, main = cpu_seconds(pid), main_thread_cpu_seconds(pid)
    assert total is not None and main is not None
    assert total - total_before >= 0.25
    assert main - main_before < 0.1


def test_a_process_that_is_not_there_has_no_cpu() -> None:
    assert cpu_seconds(2**22 + 1) is None  # above Linux's pid_max ceiling
    assert main_thread_cpu_seconds(2**22 + 1) is None
