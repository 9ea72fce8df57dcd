"""Every protocol of the literature corpus validates deadlock-free (issue 11 item 10).

The corpus (`../shared/corpus/literature`, 16 protocols from the distributed-systems and security
literature) was written by people who did not write the checker; its README lists what each file hit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aura_choreo.protocol import load_all
from aura_choreo.verify import verify_protocol
from conftest import SHARED

LITERATURE = SHARED / "corpus" / "literature"
FILES = sorted(LITERATURE.glob("*.choreo"))

# Files that still fail, each with the issue item that fixes it (strict: an unexpected pass fails).
STILL_OPEN: dict[str, str] = {
}


def _cases() -> list[object]:
    return [
        pytest.param(
            path,
            id=path.stem,
            marks=[pytest.mark.xfail(strict=True, reason=STILL_OPEN[path.stem])]
            if path.stem in STILL_OPEN
            else [],
        )
        for path in FILES
    ]


def test_the_corpus_is_there() -> None:
    assert len(FILES) == 16


@pytest.mark.parametrize("path", _cases())
def test_every_literature_protocol_validates_deadlock_free(path: Path) -> None:
    protocols = load_all(path)
    assert protocols
    for protocol in protocols.values():
        report = verify_protocol(protocol.local_types())
        assert report.complete
        errors = [f.message for f in report.findings if f.is_error]
        assert report.deadlock_free and not errors, errors
