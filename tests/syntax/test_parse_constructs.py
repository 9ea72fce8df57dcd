"""One golden per construct of SPEC §1: the source, its AST dump and its canonical formatting.

Each source also must parse without diagnostics, and its formatting must parse back to the same AST.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aura_choreo.syntax import format_source, parse, parse_source
from aura_choreo.syntax.dump import dump_ast

CONSTRUCTS: dict[str, str] = {
    "header_choreography": """\
choreography Plain {
  roles: A, B
  A -> B: M
}
""",
    "header_protocol": """\
protocol Plain {
  roles: A, B;
  A -> B: M;
}
""",
    "header_macro_bare_name": """\
choreography! {
  Bare {
    roles: A, B;
    A -> B: M;
  }
}
""",
    "header_aura_macro_namespace": """\
aura_choreography! {
  #[namespace = "ns"]
  protocol P {
    roles: A, B;
    A -> B: M;
  }
}
""",
    "header_annotations_before_a_wrapper": """\
#[namespace = "outer"]
@critical
choreography! {
  protocol P { roles: A, B; A -> B: M; }
}
""",
    "header_raw_string": """\
r#"
choreography Raw {
  roles: A, B;
  A -> B: M;
}
"#
""",
    "header_annotations_any_order": """\
@critical
#[strict_choice]
#[namespace = "ns", priority = "high"]
[@flow_cost = 5]
choreography P {
  roles: A, B;
  A -> B: M;
}
""",
    "imports_and_several_choreographies": """\
import "common.choreo";
import "dir/other.choreo"

choreography One { roles: A, B; A -> B: M; }
choreography Two { roles: C, D; C -> D: N; }
""",
    "roles_families_and_separators": """\
choreography R {
  roles: Leader, Workers[3],
         Followers[N], Signers[*]
  Leader -> Workers[0]: M
}
""",
    "send_forms": """\
choreography Demo {
    roles: A, B, C, W[3], F[N], S[*];
    A -> B: Plain;
    A -> B;
    A -> B: Typed(Data);
    A -> B: Named(id: u64, who: String);
    A -> B: Bare(value);
    A -> B: Generic<T1, T2>;
    A -> B: GenericNamed<T>(payload);
    A -> B: Paths(x: std::vec::Vec<String>, m: HashMap<String, i32>);
    A -> B: Python(xs: list[str], d: dict[str, int], maybe: int | None);
}
""",
    "send_split_over_lines": """\
choreography Demo {
    roles: A, B, C, W[3], F[N], S[*];
    A[guard_capability = "x,y",
      flow_cost = 500]
    -> B: M(Data)
    B -> A: Back
}
""",
    "chain": """\
choreography Demo {
    roles: A, B, C, W[3], F[N], S[*];
    A -> B -> C: Relay;
    A -> B -> C;
}
""",
    "exchange": """\
choreography Demo {
    roles: A, B, C, W[3], F[N], S[*];
    A <-> B;
    A <-> B: Sync;
}
""",
    "broadcast": """\
choreography Demo {
    roles: A, B, C, W[3], F[N], S[*];
    A ->* : Announce(Data);
}
""",
    "multicast_and_fan_in": """\
choreography Demo {
    roles: A, B, C, W[3], F[N], S[*];
    A -> W[*]: Task;
    A -> W[0..2]: Some;
    A -> F[0..N]: Param;
    W[i] -> A: Result;
    W[0] -> A: First;
    S[*] -> A: Vote;
}
""",
    "choice_with_guards": """\
choreography Demo {
    roles: A, B, C, W[3], F[N], S[*];
    choice A {
        buy when (balance > price): {
            A -> B: Purchase;
        }
        cancel: {
            A -> B: Cancel;
        }
    }
}
""",
    "choice_at_single_statement_branches": """\
choreography Demo {
    roles: A, B, C, W[3], F[N], S[*];
    choice at B {
        ok: B -> A: Ok;
        retry: B -> A: Retry(r: Req);
        fail: { B -> A: Fail; }
    }
}
""",
    "match_arms": """\
choreography Demo {
    roles: A, B, C, W[3], F[N], S[*];
    match capabilities.sync_type {
        SyncType::Full => compose Full(A, B),
        SyncType::Delta => { A -> B: Delta; B -> A: Ack; }
        _ => A -> B: Nothing
    }
}
""",
    "if_else": """\
choreography Demo {
    roles: A, B, C, W[3], F[N], S[*];
    if x > 3 && ready {
        A -> B: Big;
    } else if !ready {
        A -> B: Wait;
    } else {
        A -> B: Small;
    }
    if retry_requested { A -> B: Again }
}
""",
    "loops": """\
choreography Demo {
    roles: A, B, C, W[3], F[N], S[*];
    loop (count: 5) { A -> B: Ping }
    loop (count: N) { A -> B: Ping }
    loop (decides: A) { A -> B: More }
    loop (custom: "has_more") { A -> B: Chunk }
    loop {
        A -> B: Data;
        if done { break; }
    }
}
""",
    "for_loop": """\
choreography Demo {
    roles: A, B, C, W[3], F[N], S[*];
    for round in 1..max_rounds {
        A -> B: Bid(round);
    }
}
""",
    "rec_continue": """\
choreography Demo {
    roles: A, B, C, W[3], F[N], S[*];
    rec Retry {
        A -> B: Try;
        choice B { again: { B -> A: No; continue Retry; } ok: { B -> A: Yes } }
    }
}
""",
    "parallel_forms": """\
choreography Demo {
    roles: A, B, C, W[3], F[N], S[*];
    parallel { A -> B: X | B -> C: Y; C -> A: Z }
    par {
        A -> B: P;
        B -> C: Q;
    }
}
""",
    "barrier_local_let": """\
choreography Demo {
    roles: A, B, C, W[3], F[N], S[*];
    barrier;
    barrier(B)
    A: Compute(x, 3);
    B: HandleTimeout();
    let best = max(a, b, 3);
}
""",
    "composition": """\
choreography Demo {
    roles: A, B, C, W[3], F[N], S[*];
    protocol Sub(X, Y) {
        X -> Y: Hello;
    }
    call Sub(A, B);
    compose Sub(B, C)
    call Other;
    sub_protocol Named {
        A -> B: Inside;
    }
}
""",
    "timeout_and_saga": """\
choreography Demo {
    roles: A, B, C, W[3], F[N], S[*];
    timeout(30_seconds) {
        B -> A: Response(result);
    } or {
        A: HandleTimeout();
    }
    timeout(500ms) { B -> A: Quick }
    try {
        A -> B: Reserve(id);
    } compensate {
        A -> B: Release(id);
    }
}
""",
    "annotations_three_forms": """\
choreography Demo {
    roles: A, B, C, W[3], F[N], S[*];
    A[guard_capability = "x,y", flow_cost = 500] -> B: M;
    A[@flow_cost = 500, @priority = "high"] -> B[@cost = 50]: N;
    [@timeout = 5000, @retry = 3]
    B -> A: Reply;
    @critical
    A -> B: Important;
    @optimize(inline, n = 3)
    A -> B: Fast;
    [@leakage_budget = [0, 0, 1], @journal_merge = true, @audit_log = level::high, @timeout = 2m]
    A -> W[0][@min_responses = 2]: Annotated;
}
""",
    "expressions": """\
choreography Demo {
    roles: A, B, C, W[3], F[N], S[*];
    let a = 1 + 2 * 3 - -4;
    let b = (1 + 2) * 3 % 5;
    let c = not x or y and !z;
    let d = xs[0].field >= len(xs) || ys == [1, 2, 3];
    let e = Vote::Commit != None;
    let f = "quote \\" and \\\\ backslash";
    let g = 1_000_000 + 5s + 2m + 1h + 100_millis;
    let h = true and False;
    let i = -(x + 1);
}
""",
    "comments_and_keyword_role_names": """\
// line comment
/* block
   comment /* nested */ */
choreography K {
  roles: Loop, choice, par;
  Loop -> choice: M; // trailing
  choice -> par: N /* inline */;
  par: Act();
}
""",
}


@pytest.mark.parametrize("name", sorted(CONSTRUCTS))
def test_construct_golden(name: str, golden: Callable[[str, str], None]) -> None:
    source = CONSTRUCTS[name]
    result = parse_source(source, f"{name}.choreo", extra_annotation_keys=["optimize"])
    assert result.diagnostics == []
    formatted = format_source(result.file)
    dump = dump_ast(result.file)
    golden(f"construct_{name}.txt", f"--- source\n{source}--- ast\n{dump}\n--- fmt\n{formatted}")
    again = parse(formatted, f"{name}.choreo")
    assert again == result.file
    assert format_source(again) == formatted
