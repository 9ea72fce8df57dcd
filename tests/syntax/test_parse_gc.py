"""parse_source and the cyclic garbage collector (issue 19): the parse's new objects are not scanned
by a young collection when the collector resumes, the caller's garbage is still freed, and the
collector's state is left as it was found."""

from __future__ import annotations

import gc
import weakref

from aura_choreo.syntax import parse_source

_SOURCE = "choreography C {\n    roles: A, B;\n" + "    A -> B: Ping(n: u64);\n" * 300 + "}\n"


def test_the_parsed_tree_goes_straight_to_the_oldest_generation() -> None:
    # not left young, where the next young collection would scan all of it (issue 19)
    assert gc.isenabled()
    result = parse_source(_SOURCE)
    assert result.ok
    assert any(o is result.file for o in gc.get_objects(generation=2))
    assert gc.isenabled()


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_cyclic_garbage_made_before_a_parse_is_still_freed_by_a_young_collection() -> None:
    # the promotion must not take the caller's young garbage along into the oldest generation,
    # where only a full collection would free it
    garbage = _Cycle()
    alive = weakref.ref(garbage)
    del garbage
    parse_source(_SOURCE)
    gc.collect(1)
    assert alive() is None


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
