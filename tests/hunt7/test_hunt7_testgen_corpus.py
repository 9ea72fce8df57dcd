"""Generated suites that failed as generated on literature protocols, found by hunt7 (fixed in testgen/).

SPEC §7: `test-gen` writes a suite that passes as generated. Three plan mistakes, each minimised from
`../shared/corpus/literature`:
- a `match` on a field that only one role can evaluate becomes that role's choice, and the monitor
  checks the choice against the value; the plan forced the choice but not the field, so the forced
  branch failed as a protocol violation whenever the behaviours sent another value
  (mqtt_qos2_publish's `match reason`);
- a branch's proof listed every label inside it, also those of one branch of a nested choice, so a
  forced branch "never sent" them when the nested choice went the other way (payment_channel);
- a guard denied inside a `try` body makes the saga compensate and the run succeed, but the test
  expected the run to fail (payment_channel's `PublishFunding`);
- a forced field was forced on every send of its message, so forcing the `else` of `if end_stream
  { break }` in a loop kept the loop going for ever (http_cancellation's test never ended). A field
  is now forced once, like a choice.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aura_choreo.docs import load_files
from aura_choreo.testgen import write_suite
from conftest import generated_tests

ONE_ROLE_MATCH = """\
protocol Publish {
    roles: Publisher, Broker, Subscriber;
    Publisher -> Broker: Publish(packet_id: u16);
    Broker -> Publisher: PubRec(packet_id: u16, reason: ReasonCode);
    match reason {
        ReasonCode::Success => { Publisher -> Broker: PubRel(packet_id: u16); Broker -> Subscriber: Deliver; }
        ReasonCode::QuotaExceeded => { Publisher: BackOff(packet_id); }
        ReasonCode::NotAuthorized => { Publisher: Report(packet_id); }
    }
}
"""
NESTED_CHOICE = """\
protocol Close {
    roles: Alice, Bob, Arbiter;
    choice Alice {
        cooperative: { Alice -> Bob: Shutdown; Bob -> Alice: ClosingSigned; }
        unilateral: {
            Alice -> Arbiter: ForceClose;
            Arbiter -> Bob: Notify;
            choice at Bob {
                accept: Bob -> Arbiter: NoContest;
                contest: Bob -> Arbiter: Penalty;
            }
        }
    }
}
"""
GUARD_IN_TRY = """\
protocol Fund {
    roles: Alice, Bob, Arbiter;
    Alice -> Bob: Open;
    try {
        Alice[flow_cost = 250] -> Arbiter: PublishFunding(tx: u64);
        Arbiter -> Alice: Confirmed;
    } compensate {
        Alice -> Bob: Abandon;
    }
}
"""
LOOP_ENDED_BY_A_FIELD = """\
protocol Stream {
    roles: Origin, Proxy;
    loop {
        Origin -> Proxy: Data(chunk: u32, end_stream: bool);
        if end_stream { break; }
    }
}
"""


def _tests(tmp_path: Path, text: str) -> dict[str, object]:
    source = tmp_path / "p.choreo"
    source.write_text(text, encoding="utf-8")
    loaded = load_files([str(source)])
    assert loaded.ok, [str(d) for d in loaded.diagnostics if d.is_error]
    write_suite(loaded.protocols, [str(source)], tmp_path / "suite")
    (path,) = (tmp_path / "suite").glob("test_*.py")
    return {k: v for k, v in generated_tests(path, "hunt7_corpus").items() if "faulty" not in k}


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "text",
    [ONE_ROLE_MATCH, NESTED_CHOICE, GUARD_IN_TRY, LOOP_ENDED_BY_A_FIELD],
    ids=["match", "nested", "try", "loop"],
)
def test_the_suite_passes_as_generated(tmp_path: Path, text: str) -> None:
    tests = _tests(tmp_path, text)
    assert any("branch" in k or "guard" in k for k in tests)
    for test in tests.values():
        test()  # type: ignore[operator]
