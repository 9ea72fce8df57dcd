"""`--policy FILE` for every command that reads one (`validate`, `simulate`, `run`): the loaded policy,
or a usage error (exit 2) that says what a policy file is expected to be."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from aura_choreo.cli.output import fail

if TYPE_CHECKING:
    from aura_choreo.guards.policy import Policy

EXPECTED = "a policy file is TOML when its name ends in `.toml`, JSON otherwise"


def read_policy(path: str) -> Policy:
    """The policy at `path` (`guards.load_policy`); its `PolicyError` is a usage error, with a hint
    when a file read as JSON (any name not ending in `.toml`) is not JSON."""
    # Imported here: guards/ pulls in the journal and cryptography, which only a policy needs.
    from aura_choreo.guards import PolicyError, load_policy

    try:
        return load_policy(path)
    except PolicyError as exc:
        fail(str(exc), code=2, hint=_format_hint(path))
        raise


def _format_hint(path: str) -> str | None:
    """What to do about a policy `load_policy` refused, when the refusal may be its name's doing."""
    if path.endswith(".toml"):
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
        json.loads(text)
    except (OSError, UnicodeDecodeError):
        return None  # unreadable: the refusal already says so
    except json.JSONDecodeError:
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return f"{EXPECTED} (this one was read as JSON)"
        renamed = Path(path).with_suffix(".toml").name
        return f"{EXPECTED}, so this one was read as JSON; it is valid TOML: rename it `{renamed}`"
    return None  # valid JSON: the refusal is about its content
