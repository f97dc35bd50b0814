"""The hook reference, generated from :mod:`copilotkit_runtime.hookspecs`.

``copilotkit-runtime reference --hooks`` prints it; ``docs/hooks.md`` is its output, and a
test checks the file is current: one section per hook, with its real signature and the
docstring it is specified with.
"""

from __future__ import annotations

import inspect
import re

from . import hookspecs

__all__ = ["hook_names", "hooks_reference"]

HEADER = """# Hook reference

Generated from `copilotkit_runtime/hookspecs.py` by `copilotkit-runtime reference --hooks`
(a test checks this file is current). Implement a hook with a function of the same name
decorated with `copilotkit_runtime.hookimpl`, in the module your entry point names (group
`copilotkit_runtime`); take only the arguments you need, by name. Hooks run at start-up;
what runs per request is the async classes they register. Guide: [authoring.md](authoring.md).
"""


def hook_names() -> list[str]:
    """Every hook, in the order hookspecs.py declares them."""
    specs = [(obj.__code__.co_firstlineno, name) for name, obj in vars(hookspecs).items()
             if inspect.isfunction(obj) and hasattr(obj, f"{hookspecs.PROJECT_NAME}_spec")]
    return [name for _, name in sorted(specs)]


def _doc(text: str) -> str:
    """reST docstring → Markdown: ``code`` → `code`, :role:`x` → `x`, fields as a list."""
    text = inspect.cleandoc(text)
    text = re.sub(r":(?:class|func|meth|mod|attr|data|exc):`~?([^`]+)`", r"`\1`", text)
    text = text.replace("``", "`")
    text = re.sub(r"^:param (\w+):", r"- **\1**:", text, flags=re.M)
    text = re.sub(r"^:returns?:", "- **returns**:", text, flags=re.M)
    return text


def hooks_reference() -> str:
    parts = [HEADER]
    for name in hook_names():
        spec = getattr(hookspecs, name)
        options = getattr(spec, f"{hookspecs.PROJECT_NAME}_spec", {}) or {}
        signature = str(inspect.signature(spec)).replace("'", "")
        parts.append(f"## `{name}`\n\n```python\ndef {name}{signature}\n```\n")
        if options.get("firstresult"):
            parts.append("*First result wins*: the first implementation returning something "
                         "other than `None` ends the call.\n")
        parts.append(_doc(spec.__doc__ or "(undocumented)") + "\n")
    return "\n".join(parts).rstrip() + "\n"
