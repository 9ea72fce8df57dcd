"""The Python names of a generated package (SPEC §6): one naming rule for its directories and modules.

A DSL identifier (SPEC §1.2) is not always a usable module name: `class` is a Python keyword, a role
`Messages` would take the package's `messages.py`, `FooBar` and `Foo_Bar` (or `A` and `a`) have one
snake_case name, and Python reads identifiers in NFKC form (PEP 3131), so `ﬁx` imports as `fix`.
`module_name` escapes the first two with a trailing underscore (`class_`, `messages_`), and
`module_names` gives the later of two colliding roles a numbered name (`foo_bar_2`), in role order,
so the same protocol always gets the same names. Packages are not renamed: two choreographies whose
packages would share files are refused by `compile_file` (a renamed package is one its user cannot
guess, and which of the two would be renamed depends on their order in the file).
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from collections.abc import Iterable

RESERVED_MODULES = frozenset({"messages"})
"""Module names every package already uses for itself."""


def snake_case(name: str) -> str:
    """`TwoPhaseCommit` -> `two_phase_commit` (a valid identifier; see `module_name` for modules)."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    text = re.sub(r"\W+", "_", text).strip("_").lower() or "protocol"
    return f"p_{text}" if not text.isidentifier() or text[0].isdigit() else text


def module_name(name: str, reserved: Iterable[str] = ()) -> str:
    """The module (or package directory) name of DSL name `name`: snake_case, in the NFKC form Python
    imports it by, with a trailing `_` when it is a keyword or in `reserved`."""
    text = unicodedata.normalize("NFKC", snake_case(name))
    if not text.isidentifier():  # NFKC can turn a letter into something else (e.g. `ℌ` -> `H`): keep safe
        text = snake_case(text)
    if keyword.iskeyword(text) or keyword.issoftkeyword(text) or text in set(reserved):
        text += "_"
    return text


def module_names(names: Iterable[str]) -> list[str]:
    """One distinct module name per role name, in order: a later name that collides with an earlier
    one (or with `messages`) gets `_2`, `_3`, ... (the first free one)."""
    taken: set[str] = set()
    out: list[str] = []
    for name in names:
        base = module_name(name, RESERVED_MODULES)
        chosen, n = base, 1
        while chosen in taken:
            n += 1
            chosen = f"{base}_{n}"
        taken.add(chosen)
        out.append(chosen)
    return out
