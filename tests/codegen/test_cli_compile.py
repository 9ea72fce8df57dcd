"""`aura-choreo compile FILE -o DIR`, `--check`, determinism and usage errors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from codegen_fixtures import POLL, TPC

from aura_choreo.cli.main import cli


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.py"))}


def test_compile_writes_one_package_per_choreography(tmp_path: Path) -> None:
    code, out = run("compile", str(TPC), "-o", str(tmp_path))
    assert code == 0, out
    assert sorted(tree(tmp_path)) == [
        "two_phase_commit/__init__.py",
        "two_phase_commit/coordinator.py",
        "two_phase_commit/messages.py",
        "two_phase_commit/participant.py",
    ]
    messages = (tmp_path / "two_phase_commit" / "messages.py").read_text(encoding="utf-8")
    assert "class PrepareRequest(Message, frozen=True):" in messages and "    transaction_id: int" in messages


def test_same_input_gives_the_same_bytes(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert run("compile", str(POLL), "-o", str(tmp_path / name))[0] == 0
    first, second = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert first == second and len(first) == 4


def test_a_namespace_becomes_a_parent_package(tmp_path: Path) -> None:
    source = tmp_path / "ns.choreo"
    source.write_text('#[namespace = "shop.orders"]\nchoreography Buy { roles: A, B; A -> B: Order; }\n')
    code, out = run("compile", str(source), "-o", str(tmp_path / "out"))
    assert code == 0, out
    assert sorted(tree(tmp_path / "out")) == [
        "shop/__init__.py",
        "shop/orders/__init__.py",
        "shop/orders/buy/__init__.py",
        "shop/orders/buy/a.py",
        "shop/orders/buy/b.py",
        "shop/orders/buy/messages.py",
    ]


def test_check_exits_1_when_generated_code_is_stale(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    assert run("compile", str(TPC), "-o", str(out_dir))[0] == 0
    assert run("compile", "--check", str(out_dir)) == (0, f"generated code under {out_dir} is up to date\n")
    assert run("compile", str(TPC), "--check", str(out_dir))[0] == 0
    module = out_dir / "two_phase_commit" / "coordinator.py"
    module.write_text(module.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    code, out = run("compile", "--check", str(out_dir))
    assert code == 1 and "two_phase_commit/coordinator.py" in out


def test_check_sees_a_changed_choreography_and_a_stray_module(tmp_path: Path) -> None:
    source = tmp_path / "ping.choreo"
    source.write_text("choreography Ping { roles: A, B; A -> B: Ping(n: u32); }\n")
    out_dir = tmp_path / "out"
    assert run("compile", str(source), "-o", str(out_dir))[0] == 0
    (out_dir / "ping" / "extra.py").write_text("")
    code, out = run("compile", "--check", str(out_dir), "--json")
    assert code == 1 and json.loads(out) == {"ok": False, "stale": ["ping/extra.py"]}
    (out_dir / "ping" / "extra.py").unlink()
    source.write_text("choreography Ping { roles: A, B; A -> B: Ping(n: String); }\n")
    code, out = run("compile", "--check", str(out_dir), "--json")
    assert code == 1 and set(json.loads(out)["stale"]) >= {"ping/messages.py", "ping/a.py"}


def test_params_bind_family_sizes(tmp_path: Path) -> None:
    source = tmp_path / "fan.choreo"
    source.write_text("choreography Fan { roles: L, W[N]; L -> W[*]: Job(n: u32); W[i] -> L: Done; }\n")
    out_dir = tmp_path / "out"
    code, out = run("compile", str(source), "-o", str(out_dir), "--param", "N=5")
    assert code == 0, out
    worker = (out_dir / "fan" / "w.py").read_text(encoding="utf-8")
    assert "compiled for instances 0..4" in worker and "params: N=5" in worker
    assert run("compile", "--check", str(out_dir))[0] == 0
    code, out = run("compile", str(source), "-o", str(out_dir), "--param", "M=5")
    assert code == 2 and "unknown parameter `M`" in out


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run("compile", str(TPC))[0] == 2
    assert run("compile", "-o", str(tmp_path))[0] == 2
    assert run("compile", str(tmp_path / "missing.choreo"), "-o", str(tmp_path))[0] == 2
    assert run("compile", "--check", str(tmp_path))[0] == 2  # nothing generated there
    assert run("compile", str(TPC), "-o", str(tmp_path), "--param", "N")[0] == 2


def test_a_choreography_with_errors_prints_diagnostics_and_exits_1(tmp_path: Path) -> None:
    source = tmp_path / "bad.choreo"
    source.write_text("choreography Bad { roles: A, B; A -> C: M; }\n")
    code, out = run("compile", str(source), "-o", str(tmp_path / "out"))
    assert code == 1 and "error[E010]" in out and "Traceback" not in out
    assert not (tmp_path / "out").exists()


def test_fields_named_like_the_methods_own_names_still_work(tmp_path: Path) -> None:
    source = tmp_path / "odd.choreo"
    source.write_text("choreography Odd { roles: A, B; A -> B: Call(self: u32, ctx: String, value: bool) }")
    assert run("compile", str(source), "-o", str(tmp_path / "out"))[0] == 0
    a = (tmp_path / "out" / "odd" / "a.py").read_text(encoding="utf-8")
    assert "async def send_Call(self, *, self_: int, ctx_: str, value: bool) -> End:" in a
    assert 'await ctx.send("B", "Call", (self_, ctx_, value))' in a
