"""A small pool of worker processes that can kill one stuck task.

``concurrent.futures.ProcessPoolExecutor`` cannot stop one running task, so each worker here is a
``multiprocessing`` process with its own socket pair; the server side is an asyncio stream, so
waiting for a worker never blocks the event loop. A task past its time limit is killed with its
worker (SIGKILL) and a new worker is started in the background; the caller gets
:class:`~service.errors.RenderTimeout` at once, without waiting for the replacement.

Bounds: at most ``size`` tasks run and ``queue_limit`` requests wait; the next request gets
:class:`~service.errors.Overloaded`. Requests go first: a worker that frees goes to the first
request waiting, then to the first batch task (``lane="batch"``), however long it waited.
With two workers or more, the last free one is the requests' lane
(:data:`~service.workers.base.Lane`): batch tasks hold at most ``size - 1`` workers while a
request runs or waits and until ``lane_idle_s`` after the last one ended, and the lane is lent
to them (all ``size`` workers) otherwise; so a batch alone renders on every worker, and a
request that comes meanwhile waits at most for the rest of one render. With one worker, batch
tasks and requests share it. Batch tasks wait in a queue of their own, never refused for a
full one and never taking its places from requests; their caller's concurrency bounds them
(the runner's). Memory held by waiting work is therefore at most ``(size + queue_limit)``
argument sets, plus the batch tasks waiting. A worker is replaced after
``max_tasks_per_child`` tasks.

What it cannot do: enforce the time limit on time spent queueing (only on running), or
preempt a replacement's warm-up (a slow warm-up leaves the pool one worker short until done).
Functions and arguments cross by pickle, so ``fn`` must be importable by module and name.

:meth:`ProcessPool.close` returns only once every process the pool ever started has been
reaped, including one whose start or reaping was interrupted by the close itself (a replacement
being spawned, a killed worker whose join was cancelled): the server must not exit before its
workers are gone. :func:`stop_helper_processes` ends the other children that multiprocessing
leaves behind (its resource tracker, the fork server), for a process that is about to exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import multiprocessing.forkserver as forkserver
import os
import socket
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from typing import Any, Literal, TypeVar, cast

from service.errors import InternalError, Overloaded, RenderTimeout, ShuttingDown, WorkerCrashed
from service.workers import protocol
from service.workers.base import Lane, PoolStats
from service.workers.child import worker_main

T = TypeVar("T")
RestartReason = Literal["timeout", "crash", "recycle"]

log = logging.getLogger("pilu.workers")


class WorkerStartFailed(RuntimeError):
    """A worker did not come up: its warm-up raised, it died, or it passed the start timeout."""


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    tasks_done: int = 0
    ledger: protocol.SharedLedger = field(default_factory=protocol.SharedLedger)
    """The shared bytes this worker sent (:class:`~service.workers.protocol.Shared`)."""

    async def call(self, frame: bytes) -> Any:
        self.writer.write(frame)
        await self.writer.drain()
        return await protocol.read_frame(self.reader, self.ledger)

    async def kill(self) -> None:
        """SIGKILL, then reap. Safe to call on a worker that already exited."""
        if self.process.is_alive():
            self.process.kill()
        await self._close_stream()
        await asyncio.to_thread(self.process.join, 5)

    async def stop(self, timeout: float = 5.0) -> None:
        """Ask the worker to exit after its current task; kill it if it has not within ``timeout``."""
        try:
            self.writer.write(protocol.encode(("stop",)))
            await self.writer.drain()
        except (ConnectionError, RuntimeError):
            pass
        await asyncio.to_thread(self.process.join, timeout)
        await self.kill()

    async def _close_stream(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


@dataclass(eq=False)
class _Waiting:
    """A task waiting for a worker; ``started`` gets its exchange once one takes it (``None``:
    the pool closed first)."""

    frame: bytes
    timeout: float
    lane: Lane
    started: asyncio.Future[asyncio.Task[Any] | None]


@dataclass(eq=False)
class ProcessPool:
    """``size`` warm worker processes behind a bounded queue. Use from one event loop only."""

    size: int
    initializer: Callable[[], None] | None = None
    max_tasks_per_child: int = 200
    queue_limit: int = 16
    start_method: Literal["spawn", "forkserver"] = "spawn"
    preload: tuple[str, ...] = ()
    """Modules the fork server imports before it forks the first worker (``forkserver``
    only): what they load is built once and shared by every worker, instead of built by each.
    The fork server is one per process, so the first pool to start it sets its preload."""
    start_timeout_s: float = 60.0
    retry_after_s: int = 2
    on_restart: Callable[[RestartReason], None] | None = None
    lane_idle_s: float = 5.0
    """Seconds after the last request ended before the lane is lent to batch tasks: longer
    than the pause between one client's requests (a console user's render then download, a
    script's next document), so a run of requests keeps the lane throughout; short against a
    batch (a hundred documents take tens of seconds), which soon gets every worker back. The
    first request after a quiet spell waits for the rest of one render."""

    _idle: deque[_Worker] = field(init=False, default_factory=deque)
    _waiting: dict[Lane, deque[_Waiting]] = field(
        init=False, default_factory=lambda: {"request": deque(), "batch": deque()}
    )
    _running: dict[Lane, int] = field(
        init=False, default_factory=lambda: {"request": 0, "batch": 0}
    )
    _lane_kept: bool = field(init=False, default=False)
    """Batch tasks leave the last worker to requests; set by a request, cleared by the timer."""
    _lend_timer: asyncio.TimerHandle | None = field(init=False, default=None)
    _warm: set[_Worker] = field(init=False, default_factory=set)
    _processes: set[_Worker] = field(init=False, default_factory=set)
    _children: set[BaseProcess] = field(init=False, default_factory=set)
    """Every process started and not yet reaped, whether or not it became a ``_Worker``."""
    _starting: set[asyncio.Task[None]] = field(init=False, default_factory=set)
    """``process.start()`` calls under way; close waits for them, so no start escapes it."""
    _inflight: set[asyncio.Task[Any]] = field(init=False, default_factory=set)
    _background: set[asyncio.Task[Any]] = field(init=False, default_factory=set)
    _restarts: int = field(init=False, default=0)
    _accepting: bool = field(init=False, default=False)
    _closed: bool = field(init=False, default=False)
    _names: itertools.count[int] = field(init=False, default_factory=lambda: itertools.count(1))
    _start_lock: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError("a process pool needs at least one worker; use InlinePool for none")
        self._ctx = cast(
            "SpawnContext | ForkServerContext", multiprocessing.get_context(self.start_method)
        )
        if isinstance(self._ctx, ForkServerContext) and self.preload:
            self._ctx.set_forkserver_preload(list(self.preload))

    async def start(self) -> None:
        """Start and warm every worker; raises WorkerStartFailed (after cleaning up) if one fails."""
        results = await asyncio.gather(
            *(self._spawn() for _ in range(self.size)), return_exceptions=True
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            await self._kill_all()
            raise failed[0]
        for worker in results:
            assert isinstance(worker, _Worker)
            self._warm.add(worker)
            self._idle.append(worker)
        self._accepting = True

    async def run(
        self, fn: Callable[..., T], *args: Any, timeout: float, lane: Lane = "request"
    ) -> T:
        """``fn(*args)`` in a worker. ``timeout`` (seconds) counts from when a worker takes it.

        Raises what ``fn`` raised if it is a PiluError; InternalError for anything else (the
        traceback is logged); RenderTimeout, WorkerCrashed, Overloaded, ShuttingDown.
        If the caller is cancelled, the task still finishes and its worker returns to the pool.
        """
        if not self._accepting:
            raise ShuttingDown("服务正在停止，不再接受新的请求")
        task = await self._start(fn, args, timeout, lane)
        result: T = await asyncio.shield(task)
        return result

    async def _start(
        self, fn: Callable[..., Any], args: tuple[Any, ...], timeout: float, lane: Lane
    ) -> asyncio.Task[Any]:
        """Wait for a worker and start ``fn(*args)`` on it; the task."""
        if self._closed:
            raise ShuttingDown("服务正在停止，不再接受新的请求")
        frame = protocol.encode(("call", fn, args))
        waiting = self._waiting[lane]
        if lane == "request":
            if not self._idle and len(waiting) >= self.queue_limit:
                raise Overloaded(
                    "渲染进程都在忙且等候队列已满，请稍后重试",
                    details={"queue_limit": self.queue_limit},
                    retry_after_s=self.retry_after_s,
                )
            self._keep_lane()
        me = _Waiting(frame, timeout, lane, asyncio.get_running_loop().create_future())
        waiting.append(me)
        self._dispatch()
        try:
            task = await me.started
        except asyncio.CancelledError:
            with contextlib.suppress(ValueError):
                waiting.remove(me)
            if lane == "request":
                self._lend_lane_later()
            raise
        if task is None:
            raise ShuttingDown("服务正在停止，不再接受新的请求")
        return task

    def _dispatch(self) -> None:
        """Give the idle workers to the tasks waiting: requests first, then batch tasks while
        the lane lets them."""
        while self._idle and not self._closed:
            if self._waiting["request"]:
                waiting = self._waiting["request"].popleft()
            elif self._waiting["batch"] and self._running["batch"] < self._batch_limit():
                waiting = self._waiting["batch"].popleft()
            else:
                return
            if waiting.started.done():  # its caller was cancelled and has not left yet
                continue
            self._running[waiting.lane] += 1
            exchange = self._exchange(self._idle.popleft(), waiting.frame, waiting.timeout,
                                      waiting.lane)  # fmt: skip
            task = asyncio.create_task(exchange)
            self._inflight.add(task)
            task.add_done_callback(self._forget_inflight)
            waiting.started.set_result(task)

    def _batch_limit(self) -> int:
        """Workers batch tasks may hold now: all but the lane while it is kept."""
        if self._lane_kept and self.size > 1:
            return self.size - 1
        return self.size

    def _keep_lane(self) -> None:
        """A request came: keep the lane until ``lane_idle_s`` after the last one ends."""
        self._lane_kept = True
        if self._lend_timer is not None:
            self._lend_timer.cancel()
            self._lend_timer = None

    def _lend_lane_later(self) -> None:
        """Lend the lane ``lane_idle_s`` from now, unless a request runs or waits."""
        if self._running["request"] or self._waiting["request"] or self._closed:
            return
        if self._lend_timer is not None:
            self._lend_timer.cancel()
        self._lend_timer = asyncio.get_running_loop().call_later(self.lane_idle_s, self._lend)

    def _lend(self) -> None:
        self._lend_timer = None
        self._lane_kept = False
        self._dispatch()

    def drain(self) -> None:
        """Refuse new work; queued and running tasks still finish."""
        self._accepting = False

    async def close(self) -> None:
        """Stop at once: cancel what runs (killing its workers), stop idle workers, reap all."""
        self._accepting = False
        self._closed = True
        if self._lend_timer is not None:
            self._lend_timer.cancel()
        for waiting in self._waiting.values():
            for left in waiting:
                if not left.started.done():
                    left.started.set_result(None)
            waiting.clear()
        for task in list(self._inflight):
            task.cancel()
        await asyncio.gather(*self._inflight, return_exceptions=True)
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        idle = list(self._idle)
        self._idle.clear()
        await asyncio.gather(*(self._reap(w, graceful=True) for w in idle))
        await self._kill_all()
        await self._reap_children()

    def stats(self) -> PoolStats:
        return PoolStats(
            size=self.size,
            warm=len(self._warm),
            busy=sum(self._running.values()),
            queued=len(self._waiting["request"]),
            restarts=self._restarts,
            accepting=self._accepting,
            lane_lent=self.size > 1 and not self._lane_kept,
        )

    async def _exchange(self, worker: _Worker, frame: bytes, timeout: float, lane: Lane) -> Any:
        """Run ``frame`` on ``worker`` (counted as running ``lane`` by :meth:`_dispatch`)."""
        retire: RestartReason | None = "crash"
        try:
            try:
                async with asyncio.timeout(timeout):
                    reply = await worker.call(frame)
            except TimeoutError:
                retire = "timeout"
                log.warning("render passed %.1f s; killing worker %s", timeout, worker.process.pid)
                raise RenderTimeout(
                    f"渲染超过{timeout:g}秒未完成，已终止", details={"timeout_s": timeout}
                ) from None
            except (asyncio.IncompleteReadError, OSError) as exc:
                log.error(
                    "worker %s died during a task (exit code %s): %r",
                    worker.process.pid,
                    worker.process.exitcode,
                    exc,
                )
                raise WorkerCrashed("渲染进程意外退出，请重试或联系运维") from None
            worker.tasks_done += 1
            retire = "recycle" if worker.tasks_done >= self.max_tasks_per_child else None
        finally:
            self._running[lane] -= 1
            if retire is None:
                self._idle.append(worker)
            else:
                self._retire(worker, retire)
            if lane == "request":
                self._lend_lane_later()
            self._dispatch()
        return self._unwrap(reply)

    @staticmethod
    def _unwrap(reply: tuple[Any, ...]) -> Any:
        kind = reply[0]
        if kind == "ok":
            return reply[1]
        if kind == "raise":
            raise protocol.rebuild_error(reply[1], reply[2], reply[3])
        log.error("task failed in a worker with %s:\n%s", reply[1], reply[2])
        raise InternalError("内部错误")

    def _retire(self, worker: _Worker, reason: RestartReason) -> None:
        self._warm.discard(worker)
        if self._closed:
            self._in_background(self._reap(worker, graceful=False))
            return
        self._restarts += 1
        if self.on_restart is not None:
            self.on_restart(reason)
        self._in_background(self._replace(worker, graceful=reason == "recycle"))

    async def _replace(self, old: _Worker, *, graceful: bool) -> None:
        await self._reap(old, graceful=graceful)
        delay = 0.5
        while not self._closed:
            try:
                new = await self._spawn()
            except WorkerStartFailed as exc:
                log.error(
                    "could not start a replacement worker, retrying in %.1f s: %s", delay, exc
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            if self._closed:
                await self._reap(new, graceful=True)
            else:
                self._warm.add(new)
                self._idle.append(new)
                self._dispatch()
            return

    async def _spawn(self) -> _Worker:
        parent_sock, child_sock = socket.socketpair()
        process = self._ctx.Process(
            target=worker_main,
            args=(child_sock, self.initializer, os.getpid(), dict(os.environ)),
            name=f"pilu-worker-{next(self._names)}",
            daemon=True,
        )
        # The start runs in its own task, shielded: a close that cancels this spawn still
        # waits for the start to finish (see _starting) and then reaps the process.
        starting = asyncio.create_task(self._start_process(process, child_sock))
        self._starting.add(starting)
        starting.add_done_callback(self._starting.discard)
        try:
            await asyncio.shield(starting)
        except BaseException:
            parent_sock.close()
            raise
        try:
            reader, writer = await asyncio.open_unix_connection(sock=parent_sock)
        except BaseException:
            parent_sock.close()
            raise
        worker = _Worker(process, reader, writer)
        self._processes.add(worker)
        try:
            async with asyncio.timeout(self.start_timeout_s):
                reply = await protocol.read_frame(reader)
        except TimeoutError:
            await self._reap(worker, graceful=False)
            raise WorkerStartFailed(
                f"{process.name} did not warm up within {self.start_timeout_s:g} s"
            ) from None
        except asyncio.IncompleteReadError:
            await self._reap(worker, graceful=False)
            raise WorkerStartFailed(
                f"{process.name} exited while starting (exit code {process.exitcode}); "
                "its stderr has the reason"
            ) from None
        except BaseException:
            await self._reap(worker, graceful=False)
            raise
        if reply[0] != "ready":
            await self._reap(worker, graceful=False)
            raise WorkerStartFailed(f"{process.name} failed to warm up:\n{reply[1]}")
        return worker

    async def _start_process(self, process: BaseProcess, child_sock: socket.socket) -> None:
        """Start ``process``; ``child_sock`` (its end of the pair) is closed here once started."""
        try:
            async with self._start_lock:
                await asyncio.to_thread(process.start)
                self._children.add(process)
        finally:
            child_sock.close()

    async def _reap(self, worker: _Worker, *, graceful: bool) -> None:
        try:
            if graceful:
                await worker.stop()
            else:
                await worker.kill()
        finally:
            self._processes.discard(worker)
            self._warm.discard(worker)
            if worker.process.exitcode is not None:  # joined; else _reap_children finishes it
                self._children.discard(worker.process)

    async def _reap_children(self) -> None:
        """Kill and join every process this pool started that is not reaped yet.

        The last step of :meth:`close`, after the cancellations: a start cut short by them is
        waited for, and a worker killed by a cancelled ``_reap`` is joined here.
        """
        while self._starting:
            await asyncio.gather(*list(self._starting), return_exceptions=True)
        left = [p for p in self._children if p.pid is not None]
        if left:
            await asyncio.to_thread(_kill_and_join, left, 10.0)
        for process in left:
            if process.exitcode is None:
                log.error("worker %s did not exit after SIGKILL", process.pid)
            else:
                self._children.discard(process)

    async def _kill_all(self) -> None:
        await asyncio.gather(*(self._reap(w, graceful=False) for w in list(self._processes)))

    def _in_background(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _forget_inflight(self, task: asyncio.Task[Any]) -> None:
        self._inflight.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved, so an abandoned caller's error is not reported twice


def _kill_and_join(processes: list[BaseProcess], timeout: float) -> None:
    """SIGKILL every process still running, then join each within ``timeout`` seconds in all."""
    for process in processes:
        if process.exitcode is None:
            process.kill()
    deadline = time.monotonic() + timeout
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))


def start_fork_server(preload: tuple[str, ...]) -> None:
    """Start the fork server now with ``preload``, without waiting for it: a pool started
    later with ``forkserver`` finds it ready or still preloading, so the preload runs beside
    the caller's own start instead of after it."""
    multiprocessing.get_context("forkserver").set_forkserver_preload(list(preload))
    forkserver.ensure_running()


def stop_helper_processes() -> bool:
    """End multiprocessing's helper processes, for a process about to exit; True if they ended.

    Starting a worker also starts the resource tracker and, with ``forkserver``, the fork
    server: children of ours, like the workers, which exit only once we close their pipes, so
    left alone they outlive the server by a moment. Call this after every pool is closed; it
    does nothing (and returns False) while any multiprocessing child is still alive: neither
    helper can exit while a child holds its pipe, so the wait for it would hang.
    """
    from multiprocessing import resource_tracker

    if multiprocessing.active_children():
        return False
    server = getattr(forkserver, "_forkserver", None)
    stop_server = getattr(server, "_stop", None)
    if stop_server is not None and getattr(server, "_forkserver_pid", None) is not None:
        stop_server()  # closes its pipe and reaps it
    tracker = getattr(resource_tracker, "_resource_tracker", None)
    stop = getattr(tracker, "_stop", None)
    if stop is None or getattr(tracker, "_fd", None) is None:
        return False
    stop()
    return True
