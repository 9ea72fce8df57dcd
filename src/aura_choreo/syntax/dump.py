"""A compact, indented text dump of an AST (for golden tests and debugging); spans are left out."""

from __future__ import annotations

import dataclasses


def dump_ast(node: object) -> str:
    """One node per line: the class name with its scalar fields, then its child nodes indented."""
    return "\n".join(_lines(node, 0))


def _is_node(value: object) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def _lines(node: object, depth: int) -> list[str]:
    pad = "  " * depth
    if not _is_node(node):
        return [f"{pad}{node!r}"]
    scalars: list[str] = []
    children: list[tuple[str, object]] = []
    for f in dataclasses.fields(node):  # type: ignore[arg-type]
        if not f.compare:
            continue
        value = getattr(node, f.name)
        if value is None or value == ():
            continue
        if _is_node(value) or (
            isinstance(value, tuple) and any(_is_node(v) or isinstance(v, tuple) for v in value)
        ):
            children.append((f.name, value))
        else:
            scalars.append(f"{f.name}={value!r}")
    lines = [f"{pad}{type(node).__name__}{' ' if scalars else ''}{' '.join(scalars)}"]
    for name, value in children:
        if isinstance(value, tuple):
            lines.append(f"{pad}  {name}:")
            for item in value:
                if isinstance(item, tuple) and not _is_node(item):
                    lines.append(f"{pad}    -")
                    for inner in item:
                        lines.extend(_lines(inner, depth + 3))
                else:
                    lines.extend(_lines(item, depth + 2))
        else:
            inner = _lines(value, depth + 2)
            if len(inner) == 1:  # a leaf node stays on its field's line
                lines.append(f"{pad}  {name}: {inner[0].lstrip()}")
            else:
                lines.append(f"{pad}  {name}:")
                lines.extend(inner)
    return lines
