"""The `aura-choreo` command: a thin layer that parses arguments, calls the library and prints."""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import json
import logging
import signal
import sys
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import click

from aura_choreo.cli.failure_json import KNOWN, failure_json
from aura_choreo.cli.registry import COMMANDS
from aura_choreo.version import __version__


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, summary = entry
        if module_name is None or importlib.util.find_spec(module_name) is None:
            return _not_implemented(cmd_name, summary)
        command = importlib.import_module(module_name).command
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, summary) for name, (_, summary) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _not_implemented(name: str, summary: str) -> click.Command:
    @click.command(
        name=name,
        help=f"{summary}\n\nNot implemented yet.",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
    @click.option("--quiet", is_flag=True, help="No progress output.")
    def command(as_json: bool, quiet: bool) -> None:
        if as_json:
            click.echo('{"ok": false, "error": "not implemented yet"}')
        click.echo(f"error: `aura-choreo {name}` is not implemented yet", err=True)
        raise SystemExit(2)

    return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aura-choreo")
@click.option("--debug", is_flag=True, envvar="AURA_CHOREO_DEBUG", help="Show tracebacks of internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Write a multi-party protocol once, check it, project it, run it."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; unexpected errors become one line plus a hint, never a traceback."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or bool(_env_debug())
    try:
        with _signals_interrupt():
            exit_code = cli.main(args=args, prog_name="aura-choreo", standalone_mode=False)
    except SystemExit:
        raise
    except click.ClickException as exc:  # usage errors: exit 2, and a JSON answer under --json
        if _json_requested(args):  # the command's own document, as `fail` prints it
            ctx = getattr(exc, "ctx", None)
            name = ctx.command.name if ctx is not None and ctx.command is not cli else None
            params = ctx.params if ctx is not None else {}
            known = ctx.meta.get(KNOWN, {}) if ctx is not None else {}
            click.echo(json.dumps(failure_json(name, exc.format_message(), [], params, known)))
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except (click.exceptions.Abort, KeyboardInterrupt):  # click turns Ctrl-C into Abort
        if _json_requested(args):  # still the command's own document (SPEC §7)
            document = failure_json(_command_of(args), "interrupted", [], {}, {}, kind="Interrupted")
            click.echo(json.dumps(document))
        click.echo("interrupted", err=True)
        _quiet_teardown()
        raise SystemExit(1) from None
    except Exception as exc:  # the last line of defence: a user never sees a raw traceback
        if debug:
            traceback.print_exc()
        else:
            click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
            click.echo("  = help: rerun with --debug to see the traceback, and report it", err=True)
        raise SystemExit(1) from None
    raise SystemExit(exit_code if isinstance(exit_code, int) else 0)


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGINT and SIGTERM (what a process manager sends) raise KeyboardInterrupt wherever the command
    is, also inside an event loop: asyncio.run installs its own SIGINT handler only over Python's
    default one, and that handler merely cancels the main task, which a simulated run may absorb and
    carry on. Restored afterwards (tests call `main` in-process); not off the main thread."""

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        import asyncio  # here: most commands never start an event loop

        name = signal.Signals(signum).name
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise KeyboardInterrupt(name) from None
        # Raised from a callback of the loop, it ends the loop's run; raised here, it could end
        # inside one of its tasks, which would keep it (asyncio then logs it as never retrieved).
        loop.call_soon_threadsafe(_raise_interrupt, name)

    try:
        previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: signals are not ours to handle
        yield
        return
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _quiet_teardown() -> None:
    """The process ends interrupted: what the interrupt cut short (an event loop not closed, a task
    holding the KeyboardInterrupt) must not print tracebacks as it is collected on the way out."""
    sys.unraisablehook = lambda _unraisable: None
    logging.getLogger("asyncio").disabled = True
    warnings.simplefilter("ignore")  # a coroutine the interrupt left never awaited


def _raise_interrupt(name: str) -> None:
    raise KeyboardInterrupt(name)


def _command_of(args: list[str]) -> str | None:
    return next((a for a in args if a in COMMANDS), None)


def _json_requested(args: list[str]) -> bool:
    pairs = itertools.pairwise(args)
    return "--json" in args or "--format=json" in args or ("--format", "json") in pairs


def _env_debug() -> str:
    import os

    return os.environ.get("AURA_CHOREO_DEBUG", "")
