"""Group commit: the sends waiting on durability share one transaction, and so one disk sync.

With `synchronous=FULL` every SQLite commit fsyncs the WAL (about 2 ms on the bench machine), which
caps a device at a few hundred durable sends a second if each send commits alone. Here a send hands
its facts and flow-budget charge to `submit` and waits on the returned future. One batch is written at
a time, on a writer thread (so the disk sync is off the event loop and the loop keeps preparing sends);
everything submitted while a batch is being written forms the next batch. The futures of a batch are
resolved together, on the loop, once its transaction has committed: a send is acknowledged only when
its facts are on disk, and a failed write fails every send of its batch (none of their facts is
stored: the transaction rolled back).

Session traces stream through the same batches (`submit_trace`): a chunk of a running session's trace
events is written with the next batch (one is started if none is pending), nobody waits on it, and the
chunks are written in the order they were submitted. `drain` hands back the chunks not yet given to the
writer, once the batch being written has committed, so a reader can write them first and read
everything submitted so far, in order.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Sequence

from aura_choreo.journal.codec import TraceRow
from aura_choreo.journal.facts import Fact

BudgetRow = tuple[str, str, int, int]
"""A flow-budget charge as stored: (context, peer, epoch, spent after the charge)."""
WriteItem = tuple[str, Sequence[Fact], Sequence[BudgetRow]]
"""One send's writes: (owner device, facts, budget charges)."""
WriteBatch = Sequence[WriteItem]
TraceChunk = tuple[str, str, Sequence[TraceRow]]
"""Trace events of one session, in order: (session, protocol, rows of `codec.TRACE_FIELDS`)."""

_JOIN_TURNS = 2
"""Turns of the event loop a finished batch leaves the sends it released to submit their next writes."""

_Waiter = tuple[WriteItem, "asyncio.Future[None]", Callable[[], None] | None]


def on_real_clock() -> bool:
    """Whether an event loop runs on this thread on the real clock: only then do writes go to the
    group commit's thread. A loop with its own clock (the simulator's virtual time) stays deterministic
    and never hands work to a thread: its writes are made at once."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return False
    return type(loop).time is asyncio.BaseEventLoop.time


class GroupCommit:
    """Batches the durable writes of concurrent sends (see the module docstring).

    `write(batch, traces)` writes a whole batch (and trace chunks) in one transaction; it runs on this
    object's writer thread.
    """

    def __init__(self, write: Callable[[WriteBatch, Sequence[TraceChunk]], int]) -> None:
        self._write = write
        self._queue: list[_Waiter] = []
        self._traces: list[TraceChunk] = []
        self._writing: asyncio.AbstractEventLoop | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self.batches = 0
        """Transactions written so far."""
        self.items = 0
        """Sends written so far (`items / batches` is the mean batch size)."""

    def submit(
        self,
        owner: str,
        facts: Sequence[Fact],
        budgets: Sequence[BudgetRow] = (),
        *,
        on_durable: Callable[[], None] | None = None,
    ) -> asyncio.Future[None]:
        """Queue one send's writes; the future completes when they are committed (or fails with the
        write's error). `on_durable` runs on the loop once they are, even if the waiter was cancelled."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.append(((owner, facts, budgets), future, on_durable))
        # A batch still marked as being written by a loop that has closed since will never finish here.
        if self._writing is None or self._writing.is_closed():
            self._start(loop)
        return future

    def submit_trace(self, chunk: TraceChunk) -> None:
        """Queue a chunk of a session's trace for the next batch (started now if none is pending).
        Called on a running loop; nothing waits on it (see the module docstring)."""
        loop = asyncio.get_running_loop()
        self._traces.append(chunk)
        if self._writing is None or self._writing.is_closed():
            self._start(loop)

    def drain(self) -> list[TraceChunk]:
        """Wait until the batch being written (if any) has committed, and take back the trace chunks
        still queued: the caller writes them (after everything written before them, in order)."""
        if self._executor is not None:
            self._executor.submit(_nothing).result()  # one writer thread: it runs after the batch
        traces, self._traces = self._traces, []
        return traces

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        batch, self._queue = self._queue, []
        traces, self._traces = self._traces, []
        self._writing = loop
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="journal-commit")
        written = self._executor.submit(self._write, [item for item, _, _ in batch], traces)

        def finished(done: concurrent.futures.Future[int]) -> None:
            try:
                loop.call_soon_threadsafe(self._finish, loop, batch, done)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass

        written.add_done_callback(finished)

    def _finish(
        self, loop: asyncio.AbstractEventLoop, batch: list[_Waiter], done: concurrent.futures.Future[int]
    ) -> None:
        error = done.exception()
        self.batches += 1
        self.items += len(batch)
        for _, future, on_durable in batch:
            if error is None and on_durable is not None:
                on_durable()
            if future.done():  # its waiter was cancelled; the write stands
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)
        # The sends just released resubmit within a turn or two of the loop: wait those turns before
        # the next batch, so they join it instead of splitting the sessions into two half-size batches
        # that alternate (each paying a full disk sync).
        loop.call_soon(self._next, loop, _JOIN_TURNS)

    def _next(self, loop: asyncio.AbstractEventLoop, turns: int) -> None:
        # Until the next batch starts, `_writing` stays set: submits meanwhile queue for it.
        if turns > 0:
            loop.call_soon(self._next, loop, turns - 1)
            return
        self._writing = None
        if self._queue or self._traces:
            self._start(loop)

    def close(self) -> None:
        """Wait for the batch being written; writes still queued are written now (synchronously)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        batch, self._queue = self._queue, []
        traces, self._traces = self._traces, []
        if not batch and not traces:
            return
        try:
            self._write([item for item, _, _ in batch], traces)
        except Exception as exc:
            error: Exception | None = exc
        else:
            error = None
        for _, future, on_durable in batch:
            if error is None and on_durable is not None:
                on_durable()
            if not future.done() and not future.get_loop().is_closed():
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)


def _nothing() -> None:
    return None
