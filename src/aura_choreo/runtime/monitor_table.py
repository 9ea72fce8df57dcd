"""The monitor's compiled transition tables: for each sequence of a local type and each position in
it that holds a send or a receive, that step's moves `{(SEND | RECV, peer, label): next}`.

With a table, the monitor checks a send or receive on straight-line code with one dict lookup and
finds the next state without looking at the steps again (`monitor.Monitor` uses it while one thread
runs and its next step is a send or a receive; everything else is interpreted as before, and a test
holds the two ways equal). A table describes positions within one sequence, whatever encloses it, so
it is compiled once per sequence and shared by every monitor of the protocol (the message catalog
keeps one `MonitorTables` across sessions).

`next` is the position of the following step when that is a send or receive too (the table goes on);
otherwise `~position` (negative): the sequence ends there or a silent or compound step follows, which
the monitor settles by interpretation (a counted loop's next round included).
"""

from __future__ import annotations

from aura_choreo.projection.local_types import LocalSeq, Recv, Send

__all__ = ["RECV", "SEND", "TABLE_MEMO", "MonitorTables", "Moves", "SeqTable", "compile_seq"]

SEND = 0
RECV = 1
"""The kinds of event in a move's key."""

Moves = dict[tuple[int, str, str], int]
"""The moves of one state: (SEND or RECV, peer, label) -> the next position (see the module doc)."""
SeqTable = tuple[Moves | None, ...]
"""Per position of a sequence: the moves of its send or receive, None for any other step."""

TABLE_MEMO = 4096
"""How many sequences a `MonitorTables` keeps by identity before starting afresh."""


def compile_seq(seq: LocalSeq) -> SeqTable:
    """The table of one sequence (see the module docstring)."""
    table: list[Moves | None] = []
    last = len(seq) - 1
    for pos, step in enumerate(seq):
        kind = type(step)
        if kind is Send:
            assert isinstance(step, Send)
            key = (SEND, step.to, step.label)
        elif kind is Recv:
            assert isinstance(step, Recv)
            key = (RECV, step.from_, step.label)
        else:
            table.append(None)
            continue
        after = type(seq[pos + 1]) if pos < last else None
        table.append({key: pos + 1 if after is Send or after is Recv else ~(pos + 1)})
    return tuple(table)


class MonitorTables:
    """The compiled tables of the sequences of some local types, by identity (compiled on first use).

    Kept by the message catalog, so every session of a protocol shares them; a monitor built on its
    own gets a fresh one.
    """

    __slots__ = ("_tables",)

    def __init__(self) -> None:
        self._tables: dict[int, tuple[LocalSeq, SeqTable]] = {}
        """id(seq) -> (seq, its table); holding `seq` keeps its id from being reused."""

    def of(self, seq: LocalSeq) -> SeqTable:
        """The table of `seq`."""
        hit = self._tables.get(id(seq))
        if hit is not None and hit[0] is seq:
            return hit[1]
        if len(self._tables) >= TABLE_MEMO:  # protocols loaded again and again: start afresh
            self._tables.clear()
        table = compile_seq(seq)
        self._tables[id(seq)] = (seq, table)
        return table
