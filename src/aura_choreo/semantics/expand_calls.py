"""Sub-protocol inlining for `semantics/expand.py` (SPEC §1.6): `call`, `compose` and `protocol`.

A call's body is expanded in place, in a fresh naming scope, with the callee's role parameters mapped
to the caller's roles (instances and index variables resolved at the call); a recursive call is an
error because inlining would not end.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

from aura_choreo.diagnostics import did_you_mean, error
from aura_choreo.semantics import core
from aura_choreo.semantics.ast_walk import protocol_defs
from aura_choreo.semantics.expand_messages import Block, Ctx, MessageExpander
from aura_choreo.semantics.expressions import substitute
from aura_choreo.syntax import ast


@dataclass(frozen=True)
class _Callee:
    name: str
    params: tuple[str, ...]
    body: ast.Block
    protocols: Mapping[str, ast.ProtocolDef]


class CallExpander(MessageExpander, ABC):
    """The sub-protocol rules of the expander; `block` (expanding a body) is `Expander`'s."""

    @abstractmethod
    def block(self, stmts: ast.Block, ctx: Ctx) -> core.CoreSeq:
        """The core statements of `stmts` in context `ctx`."""

    # ------------------------------------------------------------ sub-protocols

    def _callprotocol(self, stmt: ast.CallProtocol, ctx: Ctx) -> list[core.CoreStmt]:
        callee = self._callee(stmt, ctx)
        if callee is None:
            return []
        if callee.name in ctx.calls:
            chain = " -> ".join((*ctx.calls, callee.name))
            self.diagnostics.append(
                error(
                    "E021",
                    stmt.span,
                    f"recursive call of sub-protocol `{callee.name}` ({chain})",
                    "sub-protocols are inlined; use `rec`/`loop` for repetition",
                )
            )
            return []
        args = (
            stmt.args
            if stmt.args is not None
            else tuple(ast.RoleRef(p, span=stmt.span) for p in callee.params)
        )
        if len(args) != len(callee.params):
            self.diagnostics.append(
                error(
                    "E022",
                    stmt.span,
                    f"`{callee.name}` takes {len(callee.params)} role(s) ({', '.join(callee.params)}), "
                    f"got {len(args)}",
                    f"write `{stmt.keyword} {callee.name}({', '.join(callee.params)})` with your roles",
                )
            )
            return []
        subst: dict[str, ast.RoleRef] = {}
        for param, arg in zip(callee.params, args, strict=True):
            mapped = self.map_ref(arg, ctx)
            if mapped.name not in self.roles.decls:
                self.diagnostics.append(
                    error(
                        "E022" if stmt.args is None else "E010",
                        arg.span,
                        f"undefined role `{mapped.name}` passed to `{callee.name}`",
                        did_you_mean(mapped.name, self.roles.decls)
                        or f"pass roles explicitly: `{stmt.keyword} {callee.name}(...)`",
                    )
                )
                return []
            index = mapped.index
            if (
                isinstance(index, ast.IndexValue)
                and isinstance(index.value, str)
                and index.value in ctx.index_env
            ):
                index = ast.IndexValue(ctx.index_env[index.value])
            elif isinstance(index, ast.IndexExpr):
                index = ast.IndexExpr(substitute(index.expr, ctx.index_env))
            subst[param] = ast.RoleRef(mapped.name, index, span=arg.span)
        inner = Ctx(Block(callee.name), callee.protocols, (*ctx.calls, callee.name), subst)
        return list(self.block(callee.body, inner))

    def _callee(self, stmt: ast.CallProtocol, ctx: Ctx) -> _Callee | None:
        local = ctx.protocols.get(stmt.name)
        if local is not None:
            return _Callee(
                local.name, local.params, local.body, {**ctx.protocols, **protocol_defs(local.body)}
            )
        other = self.registry.get(stmt.name)
        if other is not None:
            return _Callee(
                other.name, tuple(d.name for d in other.roles), other.body, protocol_defs(other.body)
            )
        known = sorted({*ctx.protocols, *self.registry} - set(ctx.calls))
        self.diagnostics.append(
            error(
                "E020",
                stmt.span,
                f"undefined sub-protocol `{stmt.name}`",
                did_you_mean(stmt.name, known)
                or f"define it in this choreography with `protocol {stmt.name}(X, Y) {{ ... }}`,"
                f" or import the file that declares `choreography {stmt.name}`",
            )
        )
        return None

    def _protocoldef(self, stmt: ast.ProtocolDef, ctx: Ctx) -> list[core.CoreStmt]:
        return []  # a definition does nothing where it stands; calls inline it
