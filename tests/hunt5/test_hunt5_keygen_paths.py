"""`keygen -o` with an output path that cannot be a directory, found by hunt5 (xfail until fixed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aura_choreo.cli.main import main


# `aura-choreo keygen dev -o FILE` (FILE an existing regular file) prints "internal error:
# FileExistsError: [Errno 17] File exists ... report it" and exits 1; `-o FILE/sub` likewise with
# NotADirectoryError; under --json nothing goes to stdout. The directory is created unchecked
# (`folder.mkdir(parents=True, exist_ok=True)` in `transports/net/identity.py`'s `write_key_file`);
# a bad -o is the user's usage error (exit 2, naming the path).
@pytest.mark.parametrize("below", ["", "sub"], ids=["a-file", "under-a-file"])
def test_keygen_into_a_file_is_a_usage_error(
    tmp_path: Path, below: str, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain"
    plain.write_text("not a directory\n", encoding="utf-8")
    out = plain / below if below else plain
    with pytest.raises(SystemExit) as ended:
        main(["keygen", "dev-a", "-o", str(out), "--json"])
    captured = capsys.readouterr()
    assert "internal error" not in captured.err, captured.err
    assert ended.value.code == 2
    answer = json.loads(captured.out)
    assert answer["ok"] is False and str(plain) in answer["error"]
