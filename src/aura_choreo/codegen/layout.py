"""Line layout of generated source: every line fits `MAX_LINE` (generated code passes `ruff check`).

Generators write one logical line per statement; `fit` breaks the long ones the way a formatter
would: a docstring is wrapped, a call or signature is split one argument per line at its outermost
brackets, a long return annotation becomes a parenthesised union over several lines.
"""

from __future__ import annotations

import textwrap

MAX_LINE = 100


def lit(text: str) -> str:
    """A double-quoted Python string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def docstring_text(text: str) -> str:
    """`text` made safe inside a triple-quoted docstring."""
    return text.replace("\\", "\\\\").replace('"""', "'''")


def fit_all(lines: list[str]) -> list[str]:
    """Every line of `lines`, long ones broken (input lines may hold several lines)."""
    out: list[str] = []
    for chunk in lines:
        for line in chunk.split("\n"):
            out += fit(line)
    return out


def fit(line: str) -> list[str]:
    """`line`, broken into lines of at most `MAX_LINE` characters where the syntax allows."""
    if len(line) <= MAX_LINE:
        return [line]
    indent = line[: len(line) - len(line.lstrip())]
    body = line.strip()
    if body.startswith('"""') and body.endswith('"""') and len(body) > 6:
        text = body[3:-3]
        wrapped = textwrap.wrap(text, MAX_LINE - len(indent), break_long_words=False, break_on_hyphens=False)
        return [f'{indent}"""{wrapped[0]}', *(f"{indent}{w}" for w in wrapped[1:]), f'{indent}"""']
    if body.startswith(") -> ") and body.endswith(":") and " | " in body:
        options = body[len(") -> ") : -1].split(" | ")
        return [
            f"{indent}) -> (",
            f"{indent}    {options[0]}",
            *(f"{indent}    | {o}" for o in options[1:]),
            f"{indent}):",
        ]
    if body.startswith("from ") and " import " in body and "(" not in body:
        head, names = body.split(" import ", 1)
        return [f"{indent}{head} import (", *(f"{indent}    {n}," for n in names.split(", ")), f"{indent})"]
    split = _split_call(body)
    if split is None:
        return [line]
    head, args, tail = split
    inner = indent + "    "
    out = [f"{indent}{head}"]
    for arg in args:
        out += fit(f"{inner}{arg},")
    return out + fit(f"{indent}{tail}")


_PAIRS = {"(": ")", "[": "]", "{": "}"}


def _split_call(body: str) -> tuple[str, list[str], str] | None:
    """(text up to the outermost bracket, its top-level items, the closing bracket and the rest) for
    the first bracket that closes at the end of the line (ignoring a trailing `:`, `,` or `)`)."""
    depth = 0
    start = -1
    quote = ""
    for i, ch in enumerate(body):
        if quote:
            if ch == quote and body[i - 1] != "\\":
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
        elif ch in _PAIRS:
            if depth == 0 and start < 0:
                start = i
            depth += 1
        elif ch in _PAIRS.values():
            depth -= 1
            if depth == 0 and start >= 0:
                rest = body[i:]
                if len(rest) > 4 and not rest.startswith(") -> "):
                    start = -1
                    continue
                items = _top_level_items(body[start + 1 : i])
                if len(items) < 1:
                    return None
                return body[: start + 1], items, rest
    return None


def _top_level_items(text: str) -> list[str]:
    items: list[str] = []
    depth = 0
    quote = ""
    current: list[str] = []
    for i, ch in enumerate(text):
        if quote:
            current.append(ch)
            if ch == quote and text[i - 1] != "\\":
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
        elif ch in _PAIRS:
            depth += 1
        elif ch in _PAIRS.values():
            depth -= 1
        if ch == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    last = "".join(current).strip()
    if last:
        items.append(last)
    return items
