"""Hypothesis strategies for ASTs that the canonical formatter can write (spans are not generated).

A few shapes have no spelling and are not generated: a parallel with one branch of several
statements (or an empty branch), a bare lower-case payload type (it reads as a field name).
"""

from __future__ import annotations

from hypothesis import strategies as st

from aura_choreo.syntax import ast

ROLE_NAMES = ["A", "B", "Coord", "Loop", "par", "roles"]
FAMILIES = {"W": 3, "F": "N", "S": "*"}
LABELS = st.sampled_from(["Ping", "Pong", "Request", "Vote", "x_1", "Commit"])
LOWER_NAMES = st.sampled_from(["x", "amount", "chunk", "when_", "is_last", "i"])
NAMES = st.sampled_from(["x", "amount", "Vote::Commit", "capabilities", "N", "std::x"])
UPPER_NAMES = st.sampled_from(["Sub", "Phase", "Retry", "L"])
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)

# ---------------------------------------------------------------- expressions

_leaf_expressions = st.one_of(
    st.builds(ast.Literal, st.integers(-1000, 10**12)),
    st.builds(ast.Literal, TEXT),
    st.builds(ast.Literal, st.sampled_from([True, False, None])),
    st.builds(ast.Duration, st.integers(0, 10**8)),
    st.builds(ast.Name, NAMES),
)


def _compound_expressions(inner: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
    return st.one_of(
        st.builds(ast.Attribute, inner, LOWER_NAMES),
        st.builds(ast.Index, inner, inner),
        st.builds(ast.Call, st.sampled_from(["max", "min", "len"]), st.lists(inner, max_size=3).map(tuple)),
        st.builds(ast.UnaryOp, st.sampled_from(["not", "-"]), inner),
        st.builds(
            ast.BinOp,
            st.sampled_from(["or", "and", "==", "!=", "<", ">=", "in", "+", "-", "*", "/", "%"]),
            inner,
            inner,
        ),
        st.builds(ast.ListExpr, st.lists(inner, max_size=3).map(tuple)),
    )


EXPRESSIONS = st.recursive(_leaf_expressions, _compound_expressions, max_leaves=8)

# ---------------------------------------------------------------- annotations

_plain_values: st.SearchStrategy[ast.AnnotationValue] = st.one_of(
    st.integers(-5, 10**6),
    TEXT,
    st.booleans(),
    st.builds(ast.Ident, st.sampled_from(["inline", "level::high", "fast"])),
)
ANNOTATION_VALUES = st.one_of(
    _plain_values,
    st.lists(st.one_of(_plain_values, st.lists(_plain_values, max_size=2).map(tuple)), max_size=3).map(tuple),
    st.builds(
        ast.AnnotationArgs,
        st.lists(_plain_values, max_size=2).map(tuple),
        st.lists(st.tuples(LOWER_NAMES, _plain_values), max_size=2).map(tuple),
    ),
)
ANNOTATIONS = st.lists(
    st.builds(
        ast.Annotation,
        st.sampled_from(["flow_cost", "guard_capability", "journal_merge", "priority", "critical", "my_key"]),
        ANNOTATION_VALUES,
    ),
    max_size=3,
).map(tuple)

# ---------------------------------------------------------------- roles, types, messages


def _index_bound() -> st.SearchStrategy[int | str]:
    return st.one_of(st.integers(0, 20), st.sampled_from(["i", "k", "N"]))


_indexes = st.one_of(
    st.just(ast.IndexAll()),
    st.builds(ast.IndexValue, _index_bound()),
    st.builds(ast.IndexRange, _index_bound(), _index_bound()),
)
ROLE_REFS = st.one_of(
    st.builds(ast.RoleRef, st.sampled_from(ROLE_NAMES)),
    st.builds(ast.RoleRef, st.sampled_from(sorted(FAMILIES)), _indexes),
)
PARTICIPANTS = st.builds(ast.Participant, ROLE_REFS, ANNOTATIONS)

_type_names = st.sampled_from(["String", "u64", "std::vec::Vec", "Vote", "int", "list", "None"])
TYPES = st.recursive(
    st.builds(ast.TypeRef, _type_names),
    lambda inner: st.one_of(
        st.builds(ast.TypeRef, _type_names, st.lists(inner, min_size=1, max_size=2).map(tuple)),
        st.builds(
            ast.UnionType, st.lists(st.builds(ast.TypeRef, _type_names), min_size=2, max_size=3).map(tuple)
        ),
    ),
    max_leaves=4,
)
FIELDS = st.one_of(
    st.builds(ast.PayloadField, LOWER_NAMES, TYPES),
    st.builds(ast.PayloadField, LOWER_NAMES, st.none()),
    st.builds(ast.PayloadField, st.none(), TYPES),
)
MESSAGES = st.builds(
    ast.Message,
    LABELS,
    st.lists(TYPES, max_size=2).map(tuple),
    st.lists(FIELDS, max_size=3).map(tuple),
)

# ---------------------------------------------------------------- statements


def _annotated(strategy: st.SearchStrategy[ast.Stmt]) -> st.SearchStrategy[ast.Stmt]:
    import dataclasses

    return st.builds(lambda s, a: dataclasses.replace(s, annotations=a), strategy, ANNOTATIONS)


_simple_statements = st.one_of(
    st.builds(ast.Send, PARTICIPANTS, PARTICIPANTS, st.none() | MESSAGES),
    st.builds(ast.Chain, st.lists(PARTICIPANTS, min_size=3, max_size=4).map(tuple), st.none() | MESSAGES),
    st.builds(ast.Exchange, PARTICIPANTS, PARTICIPANTS, st.none() | MESSAGES),
    st.builds(ast.Broadcast, PARTICIPANTS, MESSAGES),
    st.builds(ast.Break),
    st.builds(ast.Continue, UPPER_NAMES),
    st.builds(ast.Barrier, st.none() | ROLE_REFS),
    st.builds(ast.LocalAction, ROLE_REFS, LABELS, st.lists(EXPRESSIONS, max_size=2).map(tuple)),
    st.builds(ast.Let, LOWER_NAMES, EXPRESSIONS),
    st.builds(
        ast.CallProtocol,
        UPPER_NAMES,
        st.none() | st.lists(ROLE_REFS, max_size=3).map(tuple),
        st.sampled_from(["call", "compose"]),
    ),
)


def _parallel_branches(blocks: st.SearchStrategy[ast.Block]) -> st.SearchStrategy[tuple[ast.Block, ...]]:
    singles = st.lists(_simple_statements.map(lambda s: (s,)), max_size=3).map(tuple)
    several = st.lists(blocks.filter(bool), min_size=2, max_size=3).map(tuple)
    return st.one_of(singles, several)


def _compound_statements(inner: st.SearchStrategy[ast.Stmt]) -> st.SearchStrategy[ast.Stmt]:
    blocks = st.lists(inner, max_size=3).map(tuple)
    branch = st.builds(ast.Branch, LABELS, st.none() | EXPRESSIONS, blocks)
    arm = st.builds(ast.MatchArm, st.sampled_from(["Vote::Commit", "_", "Ok"]), blocks)
    loops = st.one_of(
        st.builds(ast.Loop, st.just("count"), blocks, EXPRESSIONS),
        st.builds(ast.Loop, st.just("decides"), blocks, st.none(), ROLE_REFS),
        st.builds(ast.Loop, st.just("custom"), blocks, st.none(), st.none(), TEXT),
        st.builds(ast.Loop, st.just("open"), blocks),
    )
    return _annotated(
        st.one_of(
            st.builds(ast.Choice, ROLE_REFS, st.lists(branch, max_size=3).map(tuple)),
            st.builds(ast.Match, EXPRESSIONS, st.lists(arm, max_size=3).map(tuple)),
            st.builds(ast.If, EXPRESSIONS, blocks, st.none() | blocks),
            loops,
            st.builds(ast.For, LOWER_NAMES, EXPRESSIONS, EXPRESSIONS, blocks),
            st.builds(ast.Rec, UPPER_NAMES, blocks),
            st.builds(ast.Parallel, _parallel_branches(blocks)),
            st.builds(
                ast.ProtocolDef,
                UPPER_NAMES,
                st.lists(st.sampled_from(["X", "Y"]), max_size=2).map(tuple),
                blocks,
            ),
            st.builds(ast.NamedBlock, UPPER_NAMES, blocks),
            st.builds(ast.Timeout, EXPRESSIONS, blocks, blocks),
            st.builds(ast.Try, blocks, blocks),
        )
    )


STATEMENTS = st.recursive(_annotated(_simple_statements), _compound_statements, max_leaves=6)

ROLE_DECLS = st.lists(st.sampled_from(ROLE_NAMES), min_size=1, max_size=4, unique=True).map(
    lambda names: (
        tuple(ast.RoleDecl(n) for n in names) + tuple(ast.RoleDecl(n, s) for n, s in FAMILIES.items())
    )
)
CHOREOGRAPHIES = st.builds(
    ast.Choreography,
    UPPER_NAMES,
    ROLE_DECLS,
    st.lists(STATEMENTS, max_size=4).map(tuple),
    st.none() | st.sampled_from(["ns", "a.b"]),
    ANNOTATIONS.map(lambda anns: tuple(a for a in anns if a.key != "namespace")),
)


def source_files(path: str) -> st.SearchStrategy[ast.SourceFile]:
    imports = st.lists(
        st.builds(ast.Import, st.sampled_from(["a.choreo", "dir/b.choreo", 'q"uote.choreo'])), max_size=2
    ).map(tuple)
    return st.builds(ast.SourceFile, st.just(path), imports, st.lists(CHOREOGRAPHIES, max_size=2).map(tuple))
