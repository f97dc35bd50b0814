"""The command-line reference, generated from the argparse parser the CLI runs.

``copilotkit-runtime reference --cli`` prints it; ``docs/cli.md`` is its output, and a test
checks the file is current. Built from the parser's actions rather than ``format_help()``, so
the text does not depend on the terminal width or the Python version's help layout.
"""

from __future__ import annotations

import argparse

__all__ = ["cli_reference"]

HEADER = """# Command line: `copilotkit-runtime`

Generated from the CLI's parser by `copilotkit-runtime reference --cli` (a test checks this
file is current). Every command prints its own help with `--help`. Exit status: 0 on success,
1 for a config, plugin or runtime error (the message names the setting or plugin), 2 for a
usage error (an unknown option or command).
"""


def _flags(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    names = ", ".join(f"`{s}`" for s in action.option_strings)
    if action.nargs == 0:
        return names
    value = action.metavar or (f"{{{','.join(action.choices)}}}" if action.choices
                               else action.dest.upper())
    return f"{names} `{value}`"


def _options(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| argument | meaning |", "| --- | --- |"]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:
            continue
        rows.append(f"| {_flags(action)} | {(action.help or '').replace('|', '/')} |")
    return rows


def _commands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def cli_reference(parser: argparse.ArgumentParser) -> str:
    """Markdown: the top-level options, then one section per command."""
    out = [HEADER, f"{parser.description}", "", *_options(parser), "", "Commands:", ""]
    commands = _commands(parser)
    helps = {a.dest: a.help for a in commands._choices_actions}
    for name in commands.choices:
        out.append(f"- [`{name}`](#copilotkit-runtime-{name}): {helps.get(name, '')}")
    for name, sub in commands.choices.items():
        out += ["", f"## `copilotkit-runtime {name}`", "", sub.description or helps.get(name) or "",
                "", *_options(sub)]
    return "\n".join(out) + "\n"
