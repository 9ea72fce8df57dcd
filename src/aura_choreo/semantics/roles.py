"""The role table: declared roles, their concrete instances, and resolution of role references."""

from __future__ import annotations

from dataclasses import dataclass

from aura_choreo.diagnostics import Diagnostic, Span, did_you_mean, error
from aura_choreo.semantics.expressions import expr_text, int_value, substitute, variables
from aura_choreo.semantics.params import MAX_FAMILY_SIZE, ParamEnv
from aura_choreo.syntax.ast import IndexAll, IndexExpr, IndexRange, IndexValue, RoleDecl, RoleRef


def instance_name(family: str, index: int) -> str:
    """The concrete name of a family instance: `Voter[1]`."""
    return f"{family}[{index}]"


@dataclass(frozen=True)
class FreeIndex:
    """A reference `R[i]` whose `i` is bound by nothing: it means each instance of `R`."""

    var: str
    family: str
    size: int


class RoleTable:
    """Declared roles, bound to concrete instances (families expanded in index order)."""

    def __init__(self, decls: tuple[RoleDecl, ...], params: ParamEnv, diagnostics: list[Diagnostic]):
        self.decls = {d.name: d for d in decls}
        self._size_names = {d.size for d in decls if isinstance(d.size, str) and d.size != "*"}
        self._diagnostics = diagnostics
        self._params = params
        self.sizes: dict[str, int] = {}
        concrete: list[str] = []
        for decl in decls:
            if decl.size is None:
                concrete.append(decl.name)
                continue
            if isinstance(decl.size, int):
                size = decl.size
                if size > MAX_FAMILY_SIZE:
                    diagnostics.append(
                        error(
                            "E014",
                            decl.span,
                            f"family `{decl.name}` has {size} instances, more than the limit of"
                            f" {MAX_FAMILY_SIZE}",
                        )
                    )
                    size = MAX_FAMILY_SIZE
            else:
                key = decl.name if decl.size == "*" else decl.size
                what = (
                    f"the size of family `{decl.name}[*]`"
                    if decl.size == "*"
                    else f"parameter `{key}` (the size of family `{decl.name}`)"
                )
                size = params.value(key, decl.span, what=what) or 0
            self.sizes[decl.name] = size
            concrete.extend(instance_name(decl.name, i) for i in range(size))
        self.concrete = tuple(concrete)

    def instances(self, name: str) -> tuple[str, ...]:
        """The concrete roles of a declared name (one for a plain role)."""
        if name not in self.sizes:
            return (name,)
        return tuple(instance_name(name, i) for i in range(self.sizes[name]))

    def declared_name(self, concrete: str) -> str:
        """`Voter[1]` -> `Voter`."""
        return concrete.split("[", 1)[0]

    def resolve(self, ref: RoleRef, index_env: dict[str, int]) -> tuple[str, ...] | FreeIndex:
        """The concrete roles `ref` denotes, or a free index; () after reporting an error."""
        decl = self.decls.get(ref.name)
        if decl is None:
            self._diagnostics.append(
                error("E010", ref.span, f"undefined role `{ref.name}`", did_you_mean(ref.name, self.decls))
            )
            return ()
        if ref.index is None:
            return self.instances(ref.name)
        if decl.size is None:
            self._diagnostics.append(
                error("E013", ref.span, f"role `{ref.name}` is not a family and cannot be indexed")
            )
            return ()
        size = self.sizes[ref.name]
        index = ref.index
        if isinstance(index, IndexAll):
            return self.instances(ref.name)
        if isinstance(index, IndexValue):
            if isinstance(index.value, str):
                if index.value in index_env:
                    return self._one(ref, index_env[index.value], size)
                if self._params.is_given(index.value):
                    return self._one(ref, self._params.value(index.value, ref.span) or 0, size)
                return FreeIndex(index.value, ref.name, size)
            return self._one(ref, index.value, size)
        if isinstance(index, IndexExpr):
            return self._arithmetic(ref, index, index_env, size)
        if isinstance(index, IndexRange):
            start = self._bound(index.start, index_env, ref.span)
            stop = self._bound(index.stop, index_env, ref.span)
            if start is None or stop is None:
                return ()
            if start < 0 or stop > size or start > stop:
                self._diagnostics.append(
                    error(
                        "E013",
                        ref.span,
                        f"range {start}..{stop} is out of range for `{ref.name}` with {size} instances",
                    )
                )
                return ()
            return tuple(instance_name(ref.name, i) for i in range(start, stop))
        return ()

    def _arithmetic(
        self, ref: RoleRef, index: IndexExpr, index_env: dict[str, int], size: int
    ) -> tuple[str, ...]:
        """`R[i+1]`, `R[(i + 1) % N]`: evaluated for the current binding of the index variables."""
        names = sorted(variables(index.expr))
        values: dict[str, int] = {}
        for name in names:
            if name in index_env:
                values[name] = index_env[name]
            elif self._params.is_given(name) or name in self._size_names or not name[:1].islower():
                values[name] = self._params.value(name, ref.span) or 0
            else:
                self._diagnostics.append(
                    error(
                        "E013",
                        ref.span,
                        f"index `{expr_text(index.expr)}` of `{ref.name}` uses `{name}`, which no enclosing"
                        " `for` binds and which is no parameter",
                        f"bind the index with `for {name} in 0..N {{ ... }}`, or give `--param {name}=K`",
                    )
                )
                return ()
        value = int_value(substitute(index.expr, values))
        if value is None:
            self._diagnostics.append(
                error("E013", ref.span, f"index `{expr_text(index.expr)}` of `{ref.name}` is not an integer")
            )
            return ()
        if not 0 <= value < size:
            binding = ", ".join(f"{n} = {values[n]}" for n in names if n in index_env)
            self._diagnostics.append(
                error(
                    "E013",
                    ref.span,
                    f"index `{expr_text(index.expr)}` is {value} for {binding or 'the parameters'}:"
                    f" out of range for `{ref.name}` with {size} instances",
                    f"valid indices are 0..{size - 1}; wrap around with `% {size}`" if size else "",
                )
            )
            return ()
        return (instance_name(ref.name, value),)

    def _bound(self, value: int | str, index_env: dict[str, int], span: Span) -> int | None:
        if isinstance(value, int):
            return value
        if value in index_env:
            return index_env[value]
        return self._params.value(value, span)

    def _one(self, ref: RoleRef, index: int, size: int) -> tuple[str, ...]:
        if not 0 <= index < size:
            self._diagnostics.append(
                error(
                    "E013",
                    ref.span,
                    f"index {index} is out of range for `{ref.name}` with {size} instances",
                    f"valid indices are 0..{size - 1}" if size else "",
                )
            )
            return ()
        return (instance_name(ref.name, index),)
