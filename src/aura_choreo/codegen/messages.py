"""`messages.py` of a generated package: one msgspec Struct per (label, payload) of the protocol.

Field names and Python types come from the runtime's own rules (`runtime.messages.field_names`,
`python_type`), so a generated message and the runtime's message class for the same label agree
field for field. User types are kept opaque (`Any`): the registry of user classes is a run-time
object the generator does not see.
"""

from __future__ import annotations

import keyword
import re
import types
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, get_args, get_origin

from aura_choreo.projection.local_types import LocalType, Offer, Payload, Recv, Send, iter_steps
from aura_choreo.runtime.messages import field_names, python_type


@dataclass(frozen=True)
class MessageClass:
    """One generated message class."""

    name: str
    label: str
    payload: Payload
    fields: tuple[tuple[str, str], ...]
    """(field name, Python type source) per payload item."""
    line: int
    file: str

    def signature(self) -> str:
        if not self.payload:
            return self.label
        parts = [
            f"{name}: {item.type}" if item.type is not None else name
            for item, (name, _) in zip(self.payload, self.fields, strict=True)
        ]
        return f"{self.label}({', '.join(parts)})"


def type_source(annotation: Any) -> str:
    """The source text of a mapped Python type (`list[int]`, `int | None`, `Any`)."""
    if annotation is Any:
        return "Any"
    if annotation is type(None):
        return "None"
    origin = get_origin(annotation)
    if origin is list or origin is dict:
        return f"{origin.__name__}[{', '.join(type_source(a) for a in get_args(annotation))}]"
    if isinstance(annotation, types.UnionType):
        return " | ".join(type_source(a) for a in get_args(annotation))
    if annotation in (int, float, str, bool, bytes):
        return str(annotation.__name__)
    return "Any"  # a user class: opaque in generated code


def class_name(label: str) -> str:
    """A Python class name for a label."""
    name = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in label) or "Message"
    if not name.isidentifier() or keyword.iskeyword(name) or name in _RESERVED:
        name = f"M_{name}"
    return name


_RESERVED = frozenset({"Any", "Message", "None", "True", "False", "annotations", "builtins", "typing"})
"""Names `messages.py` binds itself (its imports, `from __future__ import annotations`) or that are not
class names; a label spelled like one gets the `M_` prefix (`annotations`: hunt7)."""


class MessageTable:
    """The message classes of a protocol, named once so every role module refers to the same ones."""

    def __init__(self, local_types: Iterable[LocalType]) -> None:
        self.classes: dict[tuple[str, Payload], MessageClass] = {}
        taken: set[str] = set()
        found: list[tuple[str, Payload, int, str]] = []
        for local_type in local_types:
            for step in iter_steps(local_type.steps):
                if isinstance(step, Send | Recv):
                    known = not step.span.file.startswith("<")
                    found.append((step.label, step.payload, step.span.line if known else 0, step.span.file))
                elif isinstance(step, Offer):
                    for branch in step.branches:
                        found.append((branch.label, branch.payload, 0, ""))  # an offer has no span
        for label, payload, line, file in sorted(found, key=lambda f: (f[0], f[2] == 0, f[2])):
            if (label, payload) in self.classes:
                continue
            name = base = class_name(label)
            counter = 2
            while name in taken:
                name = f"{base}_{counter}"
                counter += 1
            taken.add(name)
            fields = tuple(
                (field, type_source(python_type(item.type)))
                for item, field in zip(payload, field_names(payload), strict=True)
            )
            self.classes[(label, payload)] = MessageClass(name, label, payload, fields, line, file)

    def get(self, label: str, payload: Payload) -> MessageClass:
        return self.classes[(label, payload)]

    def render(self, header: str) -> str:
        """The source of `messages.py`."""
        body: list[str] = []
        ordered = sorted(self.classes.values(), key=lambda c: c.name)
        qualified: set[str] = set()
        for cls in ordered:
            body += ["", "", f"class {cls.name}(Message, frozen=True):"]
            where = f" ({_short(cls.file)}:{cls.line})" if cls.line else ""
            body.append(f'    """`{_doc(cls.signature())}`{where}."""')
            if cls.fields:
                body.append("")
                shadowed = {name for name, _ in cls.fields} & set(_QUALIFIED)
                body += [f"    {name}: {_annotation(src, shadowed, qualified)}" for name, src in cls.fields]
        stdlib = [f"import {module}" for module in sorted({_QUALIFIED[n].split(".")[0] for n in qualified})]
        if any(_TYPE_NAME_ANY.search(line) for line in body if not line.startswith('    """')):
            stdlib.append("from typing import Any")
        lines = [header, "", "from __future__ import annotations", ""]
        if stdlib:
            lines += [*stdlib, ""]
        lines += ["from aura_choreo.codegen.support import Message", ""]
        return "\n".join(lines[:-1] + body) + "\n"


_QUALIFIED = {
    **{name: f"builtins.{name}" for name in ("int", "float", "str", "bool", "bytes", "list", "dict")},
    "Any": "typing.Any",
}
"""Type names a generated annotation may use, and their qualified spelling: inside a Struct whose field
is named `str`, a later `x: str` means that field to mypy and to `get_type_hints` (hunt6)."""

_TYPE_NAME = re.compile(r"\b[A-Za-z_]\w*\b")


_TYPE_NAME_ANY = re.compile(r"(?<![.\w])Any\b(?!:)")
"""`Any` used unqualified in an annotation (not a field named `Any`, not `typing.Any`)."""


def _annotation(source: str, shadowed: set[str], qualified: set[str]) -> str:
    """`source` with every type name a field of its class shadows qualified (noted in `qualified`)."""

    def qualify(match: re.Match[str]) -> str:
        name = match.group(0)
        if name not in shadowed:
            return name
        qualified.add(name)
        return _QUALIFIED[name]

    return _TYPE_NAME.sub(qualify, source) if shadowed else source


def _short(file: str) -> str:
    return file.replace("\\", "/").rsplit("/", 1)[-1]


def _doc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', "'''")
