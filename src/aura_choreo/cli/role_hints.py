"""Fix hints for a `--role` that no loaded protocol has (`project`, `subtype`)."""

from __future__ import annotations

from collections.abc import Sequence

from aura_choreo.diagnostics import did_you_mean
from aura_choreo.protocol import Protocol


def unknown_role_hint(protocols: Sequence[Protocol], role: str) -> str:
    """A fix hint for a role no protocol of `protocols` has: the family range, a near name, or the roles."""
    family, bracket, _ = role.partition("[")
    for p in protocols:
        for decl in p.checked.role_decls:
            if bracket and decl.name == family and decl.is_family:
                size = sum(1 for r in p.roles if r.startswith(family + "["))
                have = f"`{family}` has instances 0 to {size - 1}" if size else f"`{family}` has no instances"
                if isinstance(decl.size, str):
                    key = family if decl.size == "*" else decl.size
                    return f"{have} here; bind a larger size with `--param {key}=K`"
                return have
    names = sorted({r for p in protocols for r in p.roles})
    return did_you_mean(role, names) or f"roles: {_role_listing(protocols)}"


def _role_listing(protocols: Sequence[Protocol]) -> str:
    """Plain roles by name, families as `R[0..N-1]` (a 10,000-instance family stays one item)."""
    items: list[str] = []
    for p in protocols:
        for decl in p.checked.role_decls:
            size = sum(1 for r in p.roles if r.startswith(decl.name + "[")) if decl.is_family else 0
            item = f"{decl.name}[0..{size - 1}]" if size else decl.name
            if item not in items:
                items.append(item)
    return ", ".join(items)
