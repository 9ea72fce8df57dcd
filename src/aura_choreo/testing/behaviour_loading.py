"""Find user behaviours named on the command line: `--behaviours module:object` or `path/file.py:object`.

The object may be a mapping role -> behaviour (or role code), a class (instantiated once per role and
run, so runs do not share state), a function of the role name returning the behaviour, or any other
object, used for every role.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from aura_choreo.testing.simulation import Roles


class BehaviourLoadError(ValueError):
    """The behaviours could not be imported or found; the message says what to fix."""


def _import(module: str) -> Any:
    if module.endswith(".py") or "/" in module:
        path = Path(module)
        if not path.is_file():
            raise BehaviourLoadError(f"no such file: {module}")
        spec = importlib.util.spec_from_file_location(f"_aura_behaviours_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise BehaviourLoadError(f"cannot import {module}")
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        return loaded
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # `mod:obj` names a module beside the user, as python -m does
    return importlib.import_module(module)


def load_roles(spec: str) -> Roles:
    """The role code named by `module:object` (see the module docstring)."""
    module_name, sep, attribute = spec.rpartition(":")
    if not sep or not module_name or not attribute:
        raise BehaviourLoadError(f"expected --behaviours MODULE:OBJECT, got {spec!r}")
    try:
        module = _import(module_name)
    except (BehaviourLoadError, KeyboardInterrupt):
        raise
    # The user's module may raise anything while importing, `SystemExit(3)` and other BaseExceptions
    # included: every one is the module's failure to load, not this process's exit (only Ctrl-C is).
    except BaseException as exc:
        raise BehaviourLoadError(f"cannot import {module_name}: {type(exc).__name__}: {exc}") from None
    found = getattr(module, attribute, None)
    if found is None:
        public = sorted(n for n in vars(module) if not n.startswith("_"))
        raise BehaviourLoadError(
            f"{module_name} has no `{attribute}` (it defines: {', '.join(public) or 'nothing'})"
        )
    return as_roles(found)


def as_roles(found: object) -> Roles:
    """Normalise a behaviours object into `Roles` for `simulate`."""
    if isinstance(found, Mapping):
        return {str(role): code for role, code in found.items()}
    if isinstance(found, type):
        cls = found
        return lambda _role: cls()
    if callable(found) and not inspect.iscoroutinefunction(found) and not _looks_like_behaviour(found):
        factory: Callable[[str], object] = found
        return factory
    return lambda _role: found


def _looks_like_behaviour(value: object) -> bool:
    """A callable object with its own public methods is a behaviour instance, not a factory."""
    return any(not name.startswith("_") and callable(getattr(value, name, None)) for name in dir(type(value)))
