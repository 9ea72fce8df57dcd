"""Where a command writes: checked before any work, so a path that cannot be written is a usage error
(exit 2, naming the path) up front, never an internal error after a long run (SPEC §7).

    require_output_dir(args.out)      # keygen -o, compile -o, test-gen -o, doc -o DIR
    require_output_file(trace_out)    # simulate --trace-out/--shrink, doc -o OUT.html
    with policy_journal(policy_file):  # simulate --policy: the journal it names (`run` reads its outcome)
        ...

The checks create nothing; a writer that does not create missing folders itself (the trace and
fixture writers of `simulate`) calls `make_folders_for` first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aura_choreo.cli.output import fail
from aura_choreo.errors import JournalError


def require_output_dir(path: str) -> None:
    """Exit 2 unless `path` is, or can be created as, a directory this process may write into."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        fail(f"cannot write into `{path}`: it exists and is not a directory", code=2)
    _require_writable_parent(path, target if target.is_dir() else target.parent)


def require_output_file(path: str) -> None:
    """Exit 2 unless `path` is, or can be created as, a regular file this process may write."""
    target = Path(path)
    if target.is_dir():
        fail(f"cannot write `{path}`: it is a directory", code=2)
    if target.exists() and not os.access(target, os.W_OK):
        fail(f"cannot write `{path}`: permission denied", code=2)
    _require_writable_parent(path, target.parent)


def make_folders_for(path: str) -> None:
    """Create the missing folders above `path` (checked by `require_output_file` first)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)


def _require_writable_parent(path: str, folder: Path) -> None:
    """The nearest existing folder of `folder` must be a writable directory (missing ones are made)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        fail(f"cannot write `{path}`: `{existing}` is not a directory", code=2)
    if not os.access(existing, os.W_OK | os.X_OK):
        fail(f"cannot write `{path}`: `{existing}` is not writable", code=2)


@contextmanager
def policy_journal(policy_file: str | None) -> Iterator[None]:
    """A policy's journal that cannot be opened (a directory, not a database, below a file) is a
    usage error naming the policy and the journal file; the run opens it, so the first run tells."""
    try:
        yield
    except JournalError as exc:
        fail(f"{policy_file}: {exc}" if policy_file else str(exc), code=2)
