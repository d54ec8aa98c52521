"""Defer importing LibCST until a file is actually rewritten.

``import libcst`` costs about 0.27 s, more than a warm ``check`` of a large
repository. Rules import it at module level for their fixes. A placeholder
module in ``sys.modules`` satisfies those imports and loads the real module
on the first attribute access, which only the rewrite pass makes. (The
standard library's LazyLoader cannot be used here: on Python 3.11 the import
statement itself reads ``__spec__`` through it, which triggers the load.)
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any


class _DeferredModule(types.ModuleType):
    def __getattr__(self, attribute: str) -> Any:
        # Importing a submodule reads the parent's __path__: load the parent for real first,
        # so the submodule never runs against a half-loaded package.
        if attribute.startswith("__") and attribute.endswith("__") and attribute != "__path__":
            raise AttributeError(attribute)  # introspection (inspect.getmodule & co) must not load it
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attribute)


def defer_import(name: str) -> None:
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return  # let the real import fail with its usual message
    placeholder = _DeferredModule(name)
    placeholder.__spec__ = spec
    placeholder.__file__ = spec.origin
    sys.modules[name] = placeholder
