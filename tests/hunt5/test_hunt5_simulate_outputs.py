"""`simulate`'s output files at paths that cannot be written, found by hunt5 (xfail until fixed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aura_choreo.cli.main import main

TPC = Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo"


# `simulate FILE --trace-out DIR` (an existing directory), `--trace-out FILE/t.jsonl` (below a
# regular file) and `--shrink FILE/s.json` print "internal error: IsADirectoryError /
# NotADirectoryError ... report it" and exit 1 after all the runs (and the shrinking) are done;
# under --json no report is printed at all (the trace is written before the JSON). `compile -o FILE`
# shows the expected shape: "error: cannot write to `FILE`: Not a directory". Cause: the trace and
# fixture writers (`Trace.write_jsonl`, the shrink fixture) open the path unchecked.
@pytest.mark.parametrize(
    ("option", "target", "extra"),
    [
        ("--trace-out", "", ()),
        ("--trace-out", "plain/t.jsonl", ()),
        ("--shrink", "plain/s.json", ("--crash", "Participant@1", "--timeout", "2")),
    ],
    ids=["trace-out-a-directory", "trace-out-below-a-file", "shrink-below-a-file"],
)
def test_an_unwritable_output_path_is_a_usage_error(
    tmp_path: Path, option: str, target: str, extra: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plain").write_text("not a directory\n", encoding="utf-8")
    with pytest.raises(SystemExit) as ended:
        main(["simulate", str(TPC), option, str(tmp_path / target), "--quiet", *extra])
    captured = capsys.readouterr()
    assert "internal error" not in captured.err, captured.err
    assert ended.value.code == 2
