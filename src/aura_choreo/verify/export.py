"""Role state machines as DOT and Mermaid, and a parser for the DOT form (SPEC §3.2, §4.1, §4.5).

DOT format (what `to_dot` writes and `parse_dot` reads):

    digraph "Proto.Role" {
      role = "Role";
      rankdir = LR;
      node [shape = circle];
      __start [shape = point, label = ""];
      __start -> s0;
      s2 [shape = doublecircle];          // final state
      s3 [discard = "A?Late"];            // late messages dropped in this state
      s0 -> s1 [label = "B!Ping"];        // send Ping to B
      s1 -> s2 [label = "B?Pong"];        // receive Pong from B
      s4 -> s5 [label = "tau:quorum 2 of 3", owes = "A[2]?Vote"];  // drop this straggler later
    }

Edge labels: `Peer!Label`, `Peer?Label`, `tau[:what]`, `coin:KEY=LABEL`. For hand-written files the
parser also accepts: the initial state marked `initial = true` (or, failing that, the first state
mentioned), finals marked by `peripheries = 2` or `final = true` (or, failing any mark, the states
with no outgoing edge), `#` and `//` and `/* */` comments, and optional `;`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from aura_choreo.errors import AuraChoreoError
from aura_choreo.projection.local_types import LocalType
from aura_choreo.verify.compile import compile_machine
from aura_choreo.verify.fsm import Action, ActionKind, Machine, Transition


class DotParseError(AuraChoreoError):
    """A DOT file that does not describe a role machine; says where and why."""

    def __init__(self, message: str, line: int = 0, column: int = 0, file: str = "<dot>"):
        self.line, self.column, self.file = line, column, file
        where = f"{file}:{line}:{column}: " if line else f"{file}: "
        super().__init__(where + message)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def machine_to_dot(machine: Machine) -> str:
    """The DOT text of a machine."""
    title = f"{machine.protocol}.{machine.role}" if machine.protocol else machine.role
    lines = [f"digraph {_quote(title)} {{", f"  role = {_quote(machine.role)};"]
    if machine.protocol:
        lines.append(f"  protocol = {_quote(machine.protocol)};")
    lines += [
        "  rankdir = LR;",
        "  node [shape = circle];",
        '  __start [shape = point, label = ""];',
        f"  __start -> s{machine.initial};",
    ]
    discards = machine.discard_map
    for state in range(machine.state_count):
        attrs = []
        if state in machine.finals:
            attrs.append("shape = doublecircle")
        if state in discards:
            text = ",".join(f"{p}?{label}" for p, label in sorted(discards[state]))
            attrs.append(f"discard = {_quote(text)}")
        lines.append(f"  s{state} [{', '.join(attrs)}];" if attrs else f"  s{state};")
    for t in machine.transitions:
        owes = f", owes = {_quote(','.join(f'{p}?{label}' for p, label in t.owes))}" if t.owes else ""
        lines.append(f"  s{t.source} -> s{t.target} [label = {_quote(t.action.text())}{owes}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def machine_to_mermaid(machine: Machine) -> str:
    """A Mermaid state diagram of a machine."""
    lines = ["stateDiagram-v2", "    direction LR", f"    [*] --> s{machine.initial}"]
    for t in machine.transitions:
        lines.append(f"    s{t.source} --> s{t.target} : {t.action.text()}")
    for state in sorted(machine.finals):
        lines.append(f"    s{state} --> [*]")
    return "\n".join(lines) + "\n"


def to_dot(local_type: LocalType) -> str:
    """The role's state machine (SPEC §4.1) as DOT."""
    return machine_to_dot(compile_machine(local_type))


def to_mermaid(local_type: LocalType) -> str:
    """The role's state machine (SPEC §4.1) as a Mermaid state diagram."""
    return machine_to_mermaid(compile_machine(local_type))


# ---------------------------------------------------------------- parsing


@dataclass(frozen=True)
class _Token:
    kind: str  # id, str, arrow, punct, eof
    text: str
    line: int
    column: int


def _tokens(text: str, file: str) -> list[_Token]:
    out: list[_Token] = []
    i, line, col = 0, 1, 1
    n = len(text)

    def advance(count: int) -> None:
        nonlocal i, line, col
        for _ in range(count):
            if text[i] == "\n":
                line, col = line + 1, 1
            else:
                col += 1
            i += 1

    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            advance(1)
        elif text.startswith("//", i) or (ch == "#" and not text[text.rfind("\n", 0, i) + 1 : i].strip()):
            while i < n and text[i] != "\n":
                advance(1)
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise DotParseError("unterminated comment", line, col, file)
            advance(end + 2 - i)
        elif ch == '"':
            start_line, start_col = line, col
            advance(1)
            buf = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    advance(1)
                buf.append(text[i])
                advance(1)
            if i >= n:
                raise DotParseError("unterminated string", start_line, start_col, file)
            advance(1)
            out.append(_Token("str", "".join(buf), start_line, start_col))
        elif text.startswith("->", i) or text.startswith("--", i):
            out.append(_Token("arrow", text[i : i + 2], line, col))
            advance(2)
        elif ch in "{}[]=;,":
            out.append(_Token("punct", ch, line, col))
            advance(1)
        elif ch.isalnum() or ch in "_.":
            start, start_line, start_col = i, line, col
            while i < n and (text[i].isalnum() or text[i] in "_."):
                advance(1)
            out.append(_Token("id", text[start:i], start_line, start_col))
        else:
            raise DotParseError(f"unexpected character `{ch}`", line, col, file)
    out.append(_Token("eof", "", line, col))
    return out


class _DotReader:
    def __init__(self, text: str, file: str):
        self.toks = _tokens(text, file)
        self.pos = 0
        self.file = file
        self.graph_attrs: dict[str, str] = {}
        self.nodes: dict[str, dict[str, str]] = {}
        self.edges: list[tuple[str, str, dict[str, str], _Token]] = []

    def peek(self) -> _Token:
        return self.toks[self.pos]

    def take(self) -> _Token:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def fail(self, message: str, tok: _Token | None = None) -> DotParseError:
        tok = tok or self.peek()
        return DotParseError(message, tok.line, tok.column, self.file)

    def expect(self, text: str) -> _Token:
        tok = self.take()
        if tok.text != text or tok.kind == "str":
            raise self.fail(f"expected `{text}`, found `{tok.text or 'end of file'}`", tok)
        return tok

    def ident(self) -> _Token:
        tok = self.take()
        if tok.kind not in ("id", "str"):
            raise self.fail(f"expected a name, found `{tok.text or 'end of file'}`", tok)
        return tok

    def parse(self) -> None:
        tok = self.peek()
        if tok.kind == "id" and tok.text.lower() == "strict":
            self.take()
        head = self.take()
        if head.kind != "id" or head.text.lower() != "digraph":
            raise self.fail("a role machine is a `digraph { ... }`", head)
        if self.peek().kind in ("id", "str"):
            self.graph_attrs["__name"] = self.take().text
        self.expect("{")
        while not (self.peek().kind == "punct" and self.peek().text == "}"):
            if self.peek().kind == "eof":
                raise self.fail("missing `}` at the end of the graph")
            self.statement()
        self.expect("}")
        if self.peek().kind != "eof":
            raise self.fail("unexpected text after the graph")

    def attrs(self) -> dict[str, str]:
        found: dict[str, str] = {}
        while self.peek().kind == "punct" and self.peek().text == "[":
            self.take()
            while not (self.peek().kind == "punct" and self.peek().text == "]"):
                key = self.ident().text
                self.expect("=")
                found[key] = self.ident().text
                if self.peek().kind == "punct" and self.peek().text in ",;":
                    self.take()
            self.expect("]")
        return found

    def statement(self) -> None:
        first = self.ident()
        if first.kind == "id" and first.text.lower() == "subgraph":
            raise self.fail("subgraphs are not supported in a role machine", first)
        nxt = self.peek()
        if nxt.kind == "punct" and nxt.text == "=":
            self.take()
            self.graph_attrs[first.text] = self.ident().text
        elif first.kind == "id" and first.text.lower() in ("graph", "node", "edge"):
            attrs = self.attrs()
            if first.text.lower() == "graph":
                self.graph_attrs.update(attrs)
        elif nxt.kind == "arrow":
            chain = [first]
            while self.peek().kind == "arrow":
                arrow = self.take()
                if arrow.text != "->":
                    raise self.fail("a role machine is directed: use `->`", arrow)
                chain.append(self.ident())
            attrs = self.attrs()
            for tok in chain:
                self.nodes.setdefault(tok.text, {})
            for a, b in itertools.pairwise(chain):
                self.edges.append((a.text, b.text, attrs, a))
        else:
            self.nodes.setdefault(first.text, {}).update(self.attrs())
        if self.peek().kind == "punct" and self.peek().text == ";":
            self.take()


def _state_order(initial: str, names: list[str]) -> list[str]:
    """States numbered as written when they are `s0..sN` (round trip), else initial first, then as met."""
    numbered = sorted(names, key=lambda name: int(name[1:]) if name[1:].isdigit() else -1)
    if all(name == f"s{i}" for i, name in enumerate(numbered)):
        return numbered
    return [initial] + [name for name in names if name != initial]


def parse_dot(text: str, *, file: str = "<dot>", role: str | None = None) -> Machine:
    """Read a role machine written in the DOT format above (`to_dot` output round-trips)."""
    reader = _DotReader(text, file)
    reader.parse()
    starts = {
        name
        for name, attrs in reader.nodes.items()
        if attrs.get("shape") == "point" or name in ("__start", "start__")
    }
    initial_name = None
    for src, dst, _, _ in reader.edges:
        if src in starts:
            initial_name = dst
    if initial_name is None:
        marked = [name for name, attrs in reader.nodes.items() if attrs.get("initial") == "true"]
        candidates = marked or [name for name in reader.nodes if name not in starts]
        if not candidates:
            raise DotParseError("the graph has no states", file=file)
        initial_name = candidates[0]
    names = _state_order(initial_name, [name for name in reader.nodes if name not in starts])
    index = {name: i for i, name in enumerate(names)}
    transitions = []
    for src, dst, attrs, tok in reader.edges:
        if src in starts:
            continue
        if "label" not in attrs:
            raise DotParseError(f"edge {src} -> {dst} has no label", tok.line, tok.column, file)
        try:
            action = Action.parse(attrs["label"])
        except ValueError as exc:
            raise DotParseError(str(exc), tok.line, tok.column, file) from None
        owes = tuple(_receives(attrs["owes"], f"edge {src} -> {dst}: owes", file)) if "owes" in attrs else ()
        transitions.append(Transition(index[src], action, index[dst], owes=owes))
    finals = {
        index[name]
        for name, attrs in reader.nodes.items()
        if name in index
        and (
            attrs.get("shape") == "doublecircle"
            or attrs.get("peripheries") == "2"
            or attrs.get("final") == "true"
        )
    }
    if not finals:
        has_out = {t.source for t in transitions}
        finals = {i for i in range(len(names)) if i not in has_out}
    discards = []
    for name, attrs in reader.nodes.items():
        if name in index and attrs.get("discard"):
            items = set(_receives(attrs["discard"], f"state {name}: discard", file))
            discards.append((index[name], frozenset(items)))
    role_name = (
        role or reader.graph_attrs.get("role") or reader.graph_attrs.get("__name", "").rpartition(".")[2]
    )
    if not role_name:
        raise DotParseError('the graph does not say which role it is (add `role = "R";`)', file=file)
    return Machine(
        role=role_name,
        state_count=len(names),
        initial=index[initial_name],
        finals=frozenset(finals),
        transitions=tuple(transitions),
        discards=tuple(sorted(discards)),
        protocol=reader.graph_attrs.get("protocol", ""),
    )


def _receives(text: str, where: str, file: str) -> list[tuple[str, str]]:
    """A comma-separated list of `Peer?Label` items as (peer, label) pairs."""
    items = []
    for part in text.split(","):
        try:
            action = Action.parse(part)
        except ValueError as exc:
            raise DotParseError(f"{where}: {exc}", file=file) from None
        if action.kind is not ActionKind.RECV:
            raise DotParseError(f"{where} lists `Peer?Label` items, got `{part}`", file=file)
        items.append((action.peer, action.label))
    return items
