"""The top level of a file: imports, macro wrappers, protocol annotations, choreographies and roles."""

from __future__ import annotations

from aura_choreo.syntax.annotations import parse_annotation_entry, parse_annotation_list
from aura_choreo.syntax.ast import Annotation, Choreography, Import, RoleDecl, SourceFile
from aura_choreo.syntax.cursor import Cursor, ParseFailure
from aura_choreo.syntax.statements import close_block, end_statement, parse_statements
from aura_choreo.syntax.tokens import (
    EOF,
    IDENT,
    INT,
    KIND,
    LINE,
    NEWLINE_BEFORE,
    RAW_CLOSE,
    RAW_OPEN,
    STRING,
    TEXT,
    VALUE,
    Token,
    describe,
    is_word,
    token_span,
)

MACRO_WRAPPERS = frozenset({"choreography", "aura_choreography"})
_TOP_LEVEL = "`choreography`, `protocol`, `import` or an annotation"
_BODY_END = frozenset({"}", EOF})
_HEADER_WORDS = frozenset({"choreography", "protocol", "import", "aura_choreography"})


def parse_file(c: Cursor) -> SourceFile:
    """A whole file: any number of imports and choreographies, possibly inside macro wrappers."""
    imports: list[Import] = []
    choreographies: list[Choreography] = []
    _items(c, imports, choreographies, closer=None)
    return SourceFile(c.file, tuple(imports), tuple(choreographies))


def _items(
    c: Cursor,
    imports: list[Import],
    choreographies: list[Choreography],
    closer: Token | None,
    pending: list[Annotation] | None = None,
) -> None:
    """Top-level items until `closer`'s partner (`}` or `"#`), or end of file when `closer` is None.

    `pending` are annotations written before a macro wrapper: they go to its first choreography.
    """
    closing_kind = None if closer is None else ("}" if closer[KIND] == "{" else RAW_CLOSE)
    pending = list(pending or ())
    while True:
        while c.accept(";"):
            pass
        token = c.token
        if closing_kind is not None and token[KIND] == closing_kind:
            c.advance()
            break
        if token[KIND] == EOF:
            if closer is not None:
                c.report(
                    token_span(token, c.file),
                    f"expected `{closing_kind}` to close the `{closer[TEXT]}` opened "
                    f"at line {closer[LINE]}, found end of file",
                )
            break
        start = c.pos
        try:
            if _item(c, imports, choreographies, pending, inside_wrapper=closer is not None):
                pending = []
        except ParseFailure:
            c.depth = 0
            _synchronise_top_level(c, start)
    if pending:
        c.report(pending[-1].span, "annotations must be followed by a choreography")


def _item(
    c: Cursor,
    imports: list[Import],
    choreographies: list[Choreography],
    pending: list[Annotation],
    *,
    inside_wrapper: bool,
) -> bool:
    """Parse one top-level item; True when it took the pending annotations (a choreography or wrapper)."""
    token, following = c.token, c.peek()
    if is_word(token, "import"):
        c.advance()
        path = c.expect(STRING, 'the path of the imported file, as a string: `import "other.choreo";`')
        imports.append(Import(str(path[VALUE]), span=c.span_from(token)))
        end_statement(c, _BODY_END)
    elif token[KIND] == "#":
        c.advance()
        c.expect("[", "`[` (a protocol annotation is written `#[key = value]`)")
        pending.extend(parse_annotation_list(c))
    elif token[KIND] == "@":
        pending.append(parse_annotation_entry(c))
    elif token[KIND] == "[":
        c.advance()
        pending.extend(parse_annotation_list(c))
    elif token[KIND] == RAW_OPEN:
        c.advance()
        _items(c, imports, choreographies, token, pending)
        return True
    elif token[KIND] == IDENT and token[TEXT] in MACRO_WRAPPERS and following[KIND] == "!":
        c.advance()
        c.advance()
        opening = c.expect("{", "`{` after the macro name")
        _items(c, imports, choreographies, opening, pending)
        return True
    elif is_word(token, "choreography") or is_word(token, "protocol"):
        c.advance()
        choreographies.append(_choreography(c, token, pending))
        return True
    elif token[KIND] == IDENT and following[KIND] == "{" and inside_wrapper:
        choreographies.append(_choreography(c, token, pending))
        return True
    elif token[KIND] == IDENT and following[KIND] == "{":
        c.fail(_TOP_LEVEL, f"write `choreography {token[TEXT]} {{`")
    else:
        c.fail(_TOP_LEVEL)
    return False


def _choreography(c: Cursor, start: Token, annotations: list[Annotation]) -> Choreography:
    name = c.expect_ident("a choreography name")[TEXT]
    if c.token[KIND] == "(":
        c.fail(
            "`{` after the choreography name",
            f"at top level write `choreography {name} {{ roles: X, Y; ... }}`"
            f"; `protocol {name}(X, Y) {{ ... }}` with role parameters goes inside the choreography"
            " that calls it",
        )
    opening = c.expect("{", "`{` after the choreography name")
    roles: tuple[RoleDecl, ...] = ()
    if c.at_word("roles") and c.peek()[KIND] == ":":
        c.advance()
        c.advance()
        roles = _roles(c)
    elif c.at_word("roles") and c.peek()[KIND] == IDENT and not c.peek()[NEWLINE_BEFORE]:
        c.advance()
        c.report(
            token_span(c.token, c.file),
            f"expected `:` after `roles`, found {describe(c.token)}",
            "roles are declared as `roles: A, B;`",
        )
        roles = _roles(c)
    else:
        c.report(
            token_span(c.token, c.file),
            f"expected `roles:` declaring the roles, found {describe(c.token)}",
            "a choreography starts with its roles: `roles: A, B, Workers[3];`",
        )
    body = parse_statements(c, _BODY_END)
    close_block(c, opening)
    namespace, kept = _take_namespace(annotations)
    return Choreography(name, roles, body, namespace, kept, span=c.span_from(start))


def _take_namespace(annotations: list[Annotation]) -> tuple[str | None, tuple[Annotation, ...]]:
    """A single string `namespace` annotation becomes the namespace; anything else stays as written, so
    that the annotation checks report a non-string or repeated `namespace` (E060)."""
    found = [i for i, a in enumerate(annotations) if a.key == "namespace"]
    if len(found) != 1 or not isinstance(annotations[found[0]].value, str):
        return None, tuple(annotations)
    i = found[0]
    value = annotations[i].value
    assert isinstance(value, str)
    return value, tuple(annotations[:i] + annotations[i + 1 :])


def _roles(c: Cursor) -> tuple[RoleDecl, ...]:
    """The list after `roles:`: `A, B, Workers[3], Followers[N], Signers[*]` ended by `;` or a newline."""
    roles: list[RoleDecl] = []
    start = c.pos
    try:
        while True:
            roles.append(_role_decl(c))
            if not c.accept(","):
                break
            if c.token[KIND] != IDENT:  # a trailing comma
                break
        end_statement(c, _BODY_END)
    except ParseFailure:
        c.synchronise(start)
    return tuple(roles)


def _role_decl(c: Cursor) -> RoleDecl:
    start = c.expect_ident("a role name")
    size: int | str | None = None
    if c.accept("["):
        token = c.token
        if token[KIND] == "*":
            size = "*"
        elif token[KIND] in (INT, IDENT):
            size = token[VALUE]
        else:
            c.fail("a family size: an integer, a parameter name or `*`")
        c.advance()
        c.expect("]", "`]`")
    return RoleDecl(start[TEXT], size, span=c.span_from(start))


def _synchronise_top_level(c: Cursor, start: int) -> None:
    """Skip to the next top-level item, skipping bracketed regions whole."""
    depth = 0
    while not c.at_end():
        token = c.token
        if depth == 0 and c.pos > start:
            if token[KIND] in ("}", RAW_CLOSE, "#", RAW_OPEN) or (
                token[KIND] == IDENT and token[TEXT] in _HEADER_WORDS and token[NEWLINE_BEFORE]
            ):
                return
        if token[KIND] in ("{", "(", "["):
            depth += 1
        elif token[KIND] in ("}", ")", "]"):
            depth = max(depth - 1, 0)
        c.advance()
