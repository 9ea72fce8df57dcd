"""parse_source and the cyclic garbage collector (issue 19): the parse's new objects are not scanned
by a collection when the collector resumes, and the collector's state is left as it was found."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from aura_choreo.syntax import parse_source

_SOURCE = "choreography C {\n    roles: A, B;\n" + "    A -> B: Ping(n: u64);\n" * 300 + "}\n"


@contextmanager
def _collections_started() -> Iterator[list[int]]:
    started: list[int] = []

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.callbacks.append(record)
    try:
        yield started
    finally:
        gc.callbacks.remove(record)


def test_resuming_the_collector_after_a_parse_starts_no_collection() -> None:
    assert gc.isenabled()
    gc.collect()
    with _collections_started() as started:
        result = parse_source(_SOURCE)
    assert result.ok
    assert started == []
    assert gc.isenabled()


def test_a_parse_leaves_no_object_frozen() -> None:
    parse_source(_SOURCE)
    assert gc.get_freeze_count() == 0


def test_objects_frozen_by_the_caller_stay_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert parse_source(_SOURCE).ok
        assert gc.get_freeze_count() == frozen
        assert gc.isenabled()
    finally:
        gc.unfreeze()


def test_a_collector_disabled_by_the_caller_stays_disabled() -> None:
    gc.disable()
    try:
        assert parse_source(_SOURCE).ok
        assert not gc.isenabled()
    finally:
        gc.enable()
