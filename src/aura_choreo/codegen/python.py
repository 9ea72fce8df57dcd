"""Python typestate source for one role: one class per state, one method per step it allows.

Like sqlglot's generators: `PythonGenerator` has one method per local-type node kind (`send`,
`recv`, `choose`, `offer`, `if_`, `loop`, `par`, `quorum`, `local`, `timeout`, `try_`), looked up by
the step's class name; another target (another language, another async style) subclasses it and
overrides the methods it renders differently.

Each method returns the lines of the state's methods; names of other states come from the
`StateMachine`, which numbers them as they are first asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aura_choreo.codegen.docstrings import describe_step
from aura_choreo.codegen.layout import docstring_text as _doc
from aura_choreo.codegen.layout import lit
from aura_choreo.codegen.messages import MessageClass, MessageTable, class_name
from aura_choreo.codegen.states import Cont, Path, State, StateMachine
from aura_choreo.projection.local_types import (
    Branch,
    Choose,
    If,
    Local,
    LocalStep,
    LocalType,
    Loop,
    Offer,
    Par,
    Quorum,
    Recv,
    Send,
    Timeout,
    Try,
)


@dataclass(frozen=True)
class RoleNames:
    """How the generated code names the role and its peers."""

    role: str
    """The role's name, or the family's name for a family module."""
    family: bool = False
    slots: tuple[tuple[Path, str], ...] = ()
    """For a family: the peer slot of each communication step, in path order (see `peer_slots`)."""
    fixed: tuple[tuple[Path, str], ...] = ()
    """For a family: the steps whose peer is the same role for every instance."""


class PythonGenerator:
    """Generates the module of one role (see the module docstring)."""

    def __init__(
        self, local_type: LocalType, messages: MessageTable, names: RoleNames, prefix: str = ""
    ) -> None:
        self.local_type = local_type
        self.messages = messages
        self.names = names
        self.machine = StateMachine(local_type, prefix)
        self.imports: dict[str, set[str]] = {}
        self.support: set[str] = set()
        self._slot_of = {path: i for i, (path, _) in enumerate(names.slots)}
        self._fixed = dict(names.fixed)

    # ------------------------------------------------------------------ the module

    def classes(self) -> list[str]:
        """Every state class, in state-number order."""
        start = self.machine.start()
        self.start_state = start
        out: list[str] = []
        done = 0
        while done < len(self.machine.states):
            state = self.machine.states[done]
            done += 1
            out += self.state_class(state)
        return out

    def state_class(self, state: State) -> list[str]:
        if state.kind == "end":
            self.support.add("End")
            return []
        if state.kind == "block_end":
            self.support.add("BlockEnd")
            return [
                "",
                "",
                f"class {state.name}(BlockEnd):",
                f'    """End of {self._block_words(state.block)}: return it from the callback."""',
            ]
        head = state.head
        assert head is not None
        method: Callable[[State, LocalStep], list[str]] = getattr(self, _METHODS[type(head).__name__])
        self._containers = []
        body = method(state, head)
        containers = self._containers
        file, line = self._source_line(head)
        where = f"{file}:{line}" if line else "a generated step"
        doc = f"{self.describe(state, head)} ({where})."
        self.support.add("State")
        lines = ["", "", f"class {state.name}(State):", f'    """{_doc(doc)}"""', ""]
        if line:
            lines += [f"    _line = {line}", ""]
        return lines + body + containers

    def describe(self, state: State, step: LocalStep) -> str:
        """A one-line description of a state's step for its docstring."""
        return describe_step(step, self.messages, self._peer_words(state.path))

    # ------------------------------------------------------------------ one method per node kind

    def send(self, state: State, step: LocalStep) -> list[str]:
        assert isinstance(step, Send)
        msg = self._msg(step.label, step.payload)
        nxt = self._next(self.machine.after(state.cont))
        # Keyword names are the message's field names, except those the method's own names would
        # shadow (`self`, `ctx`): those take a trailing underscore.
        names = [f"{name}_" if name in _TAKEN else name for name, _ in msg.fields]
        params = ["self", "*"] + [f"{n}: {src}" for n, (_, src) in zip(names, msg.fields, strict=True)]
        if any("Any" in source for _, source in msg.fields):
            self._import("typing", "Any")
        values = f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"
        return [
            *self._def(f"send_{_ident(step.label)}", params if names else ["self"], nxt.name),
            "        ctx = self._take()",
            f"        await ctx.send({self._peer(state.path, step.to)}, {lit(step.label)}, {values})",
            f"        return {nxt.name}(ctx)",
        ]

    def recv(self, state: State, step: LocalStep) -> list[str]:
        assert isinstance(step, Recv)
        msg = self._msg(step.label, step.payload)
        nxt = self._next(self.machine.after(state.cont))
        cls = f"messages.{msg.name}"
        return [
            *self._def(f"recv_{_ident(step.label)}", ["self"], f"tuple[{cls}, {nxt.name}]"),
            "        ctx = self._take()",
            f"        message = await ctx.recv("
            f"{self._peer(state.path, step.from_)}, {lit(step.label)}, {cls})",
            f"        return message, {nxt.name}(ctx)",
        ]

    def choose(self, state: State, step: LocalStep) -> list[str]:
        assert isinstance(step, Choose)
        lines: list[str] = []
        for i, branch in enumerate(step.branches):
            nxt = self._branch_state(state.cont, i, branch)
            if lines:
                lines.append("")
            lines += [
                *self._def(f"choose_{_ident(branch.label)}", ["self"], nxt.name),
                "        ctx = self._take()",
                f"        await ctx.choose({lit(branch.label)})",
                f"        return {nxt.name}(ctx)",
            ]
        return lines

    def offer(self, state: State, step: LocalStep) -> list[str]:
        assert isinstance(step, Offer)
        options: list[tuple[str, Branch, str]] = []
        containers: list[str] = []
        for i, branch in enumerate(step.branches):
            nxt = self._branch_state(state.cont, i, branch)
            msg = self._msg(branch.label, branch.payload)
            name = f"{state.name}_{_ident(branch.label)}"
            options.append((name, branch, msg.name))
            containers += self._container(
                name, branch.label, nxt.name, f"messages.{msg.name}", f"{step.from_} chose {branch.label}"
            )
        union = " | ".join(name for name, _, _ in options)
        labels = ", ".join(lit(branch.label) for branch in step.branches)
        labels += "," if len(step.branches) == 1 else ""
        lines = [
            *self._def("offer", ["self"], union),
            "        ctx = self._take()",
            f"        label, message = await ctx.offer({self._peer(state.path, step.from_)}, ({labels}))",
        ]
        for name, branch, msg_name in options:
            nxt = self._branch_state(state.cont, step.branches.index(branch), branch)
            lines += [
                f"        if label == {lit(branch.label)}:",
                f"            return {name}(convert(messages.{msg_name}, message), {nxt.name}(ctx))",
            ]
        self.support.add("convert")
        lines.append('        raise AssertionError(f"the monitor accepted {label!r}")')
        self._containers += containers
        return lines

    def if_(self, state: State, step: LocalStep) -> list[str]:
        assert isinstance(step, If)
        options: list[tuple[int, str, str]] = []
        for i, branch in enumerate(step.branches):
            nxt = self._branch_state(state.cont, i, branch)
            name = f"{state.name}_{_ident(branch.label)}"
            options.append((i, name, nxt.name))
            self._containers += self._container(name, branch.label, nxt.name, None, f"branch {branch.label}")
        union = " | ".join(name for _, name, _ in options)
        lines = [
            *self._def("branch", ["self"], union),
            '        """Which branch the condition takes (evaluated on what this role knows)."""',
            "        ctx = self._take()",
            f"        chosen = ctx.decide_if({state.path!r})",
        ]
        for index, name, nxt_name in options[:-1]:
            lines += [f"        if chosen == {index}:", f"            return {name}({nxt_name}(ctx))"]
        _, name, nxt_name = options[-1]
        return [*lines, f"        return {name}({nxt_name}(ctx))"]

    def loop(self, state: State, step: LocalStep) -> list[str]:
        assert isinstance(step, Loop)
        body = self._next(self.machine.inside(state.cont, 0, step.body, "loop"))
        after = self._next(self.machine.after(state.cont))
        rounds, done = f"{state.name}_round", f"{state.name}_done"
        self._containers += self._container(rounds, "round", body.name, None, "one more round")
        self._containers += self._container(done, "done", after.name, None, "the loop is over")
        return [
            *self._def("loop", ["self"], f"{rounds} | {done}"),
            '        """Whether the loop runs another round (its count is fixed when it starts)."""',
            "        ctx = self._take()",
            f"        if ctx.loop_round({state.path!r}, {state.number}):",
            f"            return {rounds}({body.name}(ctx))",
            f"        return {done}({after.name}(ctx))",
        ]

    def par(self, state: State, step: LocalStep) -> list[str]:
        assert isinstance(step, Par)
        names = [f"branch{i}" for i in range(len(step.branches))]
        return self._blocks(state, "par", names, list(step.branches), "await ctx.par(({calls},))")

    def timeout(self, state: State, step: LocalStep) -> list[str]:
        assert isinstance(step, Timeout)
        return self._blocks(
            state, "timeout", ["body", "alt"], [step.body, step.alt], "await ctx.timeout({calls})"
        )

    def try_(self, state: State, step: LocalStep) -> list[str]:
        assert isinstance(step, Try)
        return self._blocks(
            state, "saga", ["body", "compensate"], [step.body, step.comp], "await ctx.saga({calls})"
        )

    def quorum(self, state: State, step: LocalStep) -> list[str]:
        assert isinstance(step, Quorum)
        nxt = self._next(self.machine.after(state.cont))
        classes = {self._msg(r.label, r.payload).name for r in step.body}
        item = f"messages.{next(iter(classes))}" if len(classes) == 1 else "Message"
        if item == "Message":
            self.support.add("Message")
        senders = ", ".join(self._peer((*state.path, 0, i), r.from_) for i, r in enumerate(step.body))
        table = ", ".join(
            f"{lit(r.label)}: messages.{self._msg(r.label, r.payload).name}"
            for r in _unique_labels(step.body)
        )
        self.support.add("convert")
        return [
            *self._def("quorum", ["self"], f"tuple[list[tuple[str, {item}]], {nxt.name}]"),
            f'        """The first {step.min} messages to arrive, as (sender, message);'
            ' later ones are dropped."""',
            "        ctx = self._take()",
            f"        got = await ctx.quorum(({senders},), {step.min})",
            f"        classes: dict[str, type[{item}]] = {{{table}}}",
            f"        return [(s, convert(classes[label], m)) for s, label, m in got], {nxt.name}(ctx)",
        ]

    def local(self, state: State, step: LocalStep) -> list[str]:
        assert isinstance(step, Local)
        nxt = self._next(self.machine.after(state.cont))
        return [
            *self._def(f"local_{_ident(step.action)}", ["self"], nxt.name),
            "        ctx = self._take()",
            f"        await ctx.local({lit(step.action)})",
            f"        return {nxt.name}(ctx)",
        ]

    # ------------------------------------------------------------------ helpers

    _containers: list[str]

    def _blocks(
        self, state: State, method: str, params: list[str], seqs: list[tuple[LocalStep, ...]], call: str
    ) -> list[str]:
        self._import("collections.abc", "Awaitable", "Callable")
        nxt = self._next(self.machine.after(state.cont))
        typed: list[str] = []
        calls: list[str] = []
        for i, (param, seq) in enumerate(zip(params, seqs, strict=True)):
            block = (
                f"{method} {param} of line {state.head.span.line if state.head else 0} ({state.path!r}:{i})"
            )
            first = self.machine.block_start(seq, (*state.path, i), block)
            end = self._block_end(block)
            typed.append(f"{param}: Callable[[{first.name}], Awaitable[{end}]]")
            calls.append(f"lambda: {param}({first.name}(ctx))")
        lines = self._def(method, ["self", *typed], nxt.name)
        return [
            *lines,
            '        """Run each part as a callback from its first state to its end state."""',
            "        ctx = self._take()",
            f"        {call.format(calls=', '.join(calls))}",
            f"        return {nxt.name}(ctx)",
        ]

    def _block_end(self, block: str) -> str:
        self.support.add("BlockEnd")
        return self.machine.block_end(block).name

    def _branch_state(self, cont: Cont, index: int, branch: Branch) -> State:
        return self._next(self.machine.inside(cont, index, branch.body))

    def _next(self, cont: Cont) -> State:
        state = self.machine.state(cont)
        if state.kind == "end":
            self.support.add("End")
        return state

    def _container(self, name: str, label: str, nxt: str, message: str | None, doc: str) -> list[str]:
        self._import("dataclasses", "dataclass")
        self._import("typing", "Literal")
        fields = ([f"    message: {message}"] if message else []) + [
            f"    state: {nxt}",
            f"    label: Literal[{lit(label)}] = {lit(label)}",
        ]
        return [
            "",
            "",
            "@dataclass(frozen=True, slots=True)",
            f"class {name}:",
            f'    """{_doc(doc)}."""',
            "",
            *fields,
        ]

    def _import(self, module: str, *names: str) -> None:
        self.imports.setdefault(module, set()).update(names)

    def _def(self, name: str, params: list[str], returns: str) -> list[str]:
        return [f"    async def {name}({', '.join(params)}) -> {returns}:"]

    def _peer_words(self, path: Path) -> str | None:
        """How a docstring names the peer of the step at `path` (None: its own name will do)."""
        if not self.names.family or path in self._fixed or path not in self._slot_of:
            return None
        return f"this instance's peer (`_PEERS[index][{self._slot_of[path]}]`)"

    def _peer(self, path: Path, role: str) -> str:
        if not self.names.family:
            return lit(role)
        if path in self._fixed:
            return lit(self._fixed[path])
        return f"ctx.peers[{self._slot_of[path]}]"

    def _msg(self, label: str, payload: tuple[object, ...]) -> MessageClass:
        return self.messages.get(label, payload)  # type: ignore[arg-type]

    def _source_line(self, step: LocalStep) -> tuple[str, int]:
        """(file name, line) of a step in the choreography; an offer (which has no span of its own)
        is where its first branch's message is declared."""
        span = step.span
        if span.file.startswith("<") and isinstance(step, Offer) and step.branches:
            msg = self._msg(step.branches[0].label, step.branches[0].payload)
            return msg.file.replace("\\", "/").rsplit("/", 1)[-1], msg.line
        if span.file.startswith("<"):
            return "", 0
        return span.file.replace("\\", "/").rsplit("/", 1)[-1], span.line

    @staticmethod
    def _block_words(block: str) -> str:
        return block.split(" (", 1)[0]


def _unique_labels(recvs: tuple[Recv, ...]) -> list[Recv]:
    return list({r.label: r for r in recvs}.values())


def _ident(label: str) -> str:
    return class_name(label) if not label.isidentifier() else label


_TAKEN = frozenset({"self", "ctx"})

_METHODS = {
    "Send": "send",
    "Recv": "recv",
    "Choose": "choose",
    "Offer": "offer",
    "If": "if_",
    "Loop": "loop",
    "Par": "par",
    "Quorum": "quorum",
    "Local": "local",
    "Timeout": "timeout",
    "Try": "try_",
}
