"""Defer importing LibCST until a file is actually rewritten.

``import libcst`` costs about 0.27 s, more than a warm ``check`` of a large
repository. Rules import it at module level for their fixes. A placeholder
module in ``sys.modules`` satisfies those imports and loads the real module
on the first attribute access, which only the rewrite pass makes. (The
standard library's LazyLoader cannot be used here: on Python 3.11 the import
statement itself reads ``__spec__`` through it, which triggers the load.)

Importing a submodule first (``from libcst.metadata import ...``) must not
run it against the placeholder: a finder loads the real package first and
hands the import system whatever that load already created, so no module
body runs twice.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Sequence
from typing import Any


class _DeferredModule(types.ModuleType):
    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__") and attribute.endswith("__"):
            raise AttributeError(attribute)  # introspection (inspect.getmodule & co) must not load it
        return getattr(self.load(), attribute)

    def load(self) -> types.ModuleType:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)
        # Modules that imported the placeholder keep it: give it the real contents, so
        # dir(), vars() and every later attribute read see the real package directly.
        self.__dict__.update({k: v for k, v in real.__dict__.items() if k not in ("__spec__", "__loader__")})
        return real


# Neither class derives from importlib.abc: importing it loads importlib.resources (0.02 s);
# the import system only needs the methods.
class _AlreadyLoaded:
    def __init__(self, module: types.ModuleType) -> None:
        self.module = module

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        pass

    def load_module(self, fullname: str) -> types.ModuleType:
        """The legacy loader protocol (never called by the import system since 3.4)."""
        return self.module


class _LoadPackageFirst:
    def __init__(self, name: str) -> None:
        self.prefix = f"{name}."
        self.name = name

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        placeholder = sys.modules.get(self.name)
        if not fullname.startswith(self.prefix) or not isinstance(placeholder, _DeferredModule):
            return None
        placeholder.load()
        if fullname not in sys.modules:
            return None
        # Taken out of sys.modules for a moment: the import system would otherwise take the
        # module's own spec and execute it a second time.
        module = sys.modules.pop(fullname)
        return importlib.util.spec_from_loader(fullname, _AlreadyLoaded(module), is_package=hasattr(module, "__path__"))


def defer_import(name: str) -> None:
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return  # let the real import fail with its usual message
    placeholder = _DeferredModule(name)
    placeholder.__spec__ = spec
    placeholder.__file__ = spec.origin
    placeholder.__path__ = list(spec.submodule_search_locations or [])
    sys.modules[name] = placeholder
    sys.meta_path.insert(0, _LoadPackageFirst(name))
