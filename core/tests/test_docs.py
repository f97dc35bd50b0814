"""The docs follow the code: docs/cli.md is generated from the CLI's parser, every option has
help text, relative links resolve, and every `copilotkit-runtime ...` command the docs show
parses with today's CLI."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from copilotkit_runtime.cli import build_parser, main
from copilotkit_runtime.cli_reference import cli_reference

REPO = Path(__file__).parents[2]
CLI_DOC = REPO / "docs" / "cli.md"
PAGES = sorted({REPO / "README.md", *REPO.glob("docs/*.md"), *REPO.glob("*/README.md"),
                *REPO.glob("plugins/*/README.md")})


def test_docs_cli_md_is_current(capsys: Any) -> None:
    assert main(["reference", "--cli"]) == 0
    printed = capsys.readouterr().out
    assert printed == cli_reference(build_parser())
    assert CLI_DOC.read_text() == printed, (
        "docs/cli.md is stale: run `uv run copilotkit-runtime reference --cli > docs/cli.md`")


def _parsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    out = [("copilotkit-runtime", parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            out += [(f"copilotkit-runtime {name}", sub) for name, sub in action.choices.items()]
    return out


def test_every_command_and_option_has_help_text() -> None:
    parsers = _parsers(build_parser())
    assert len(parsers) >= 7
    for where, parser in parsers:
        assert parser.description, f"{where} has no description"
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                assert all(a.help for a in action._choices_actions), f"{where}: a command has no help"
                continue
            assert action.help and action.help != argparse.SUPPRESS, \
                f"{where} {'/'.join(action.option_strings) or action.dest} has no help text"
        assert f"## `{where}`" in CLI_DOC.read_text() or where == "copilotkit-runtime"


_LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(page: Path) -> None:
    text = page.read_text()
    missing = [target for target in _LINK.findall(text)
               if "://" not in target and not target.startswith("mailto:")
               and not (page.parent / target).exists()]
    assert missing == [], f"{page.relative_to(REPO)} links to missing files: {missing}"


_COMMAND = re.compile(r"(?:^|`|\$ )(copilotkit-runtime(?: [^`\n#|]*)?)", re.M)


def _shown_commands() -> list[tuple[str, str]]:
    out = []
    for page in PAGES:
        if page == CLI_DOC:  # its headings name commands, they are not invocations
            continue
        for match in _COMMAND.finditer(page.read_text()):
            # up to a shell operator, or to the description of an aligned command list
            command = re.split(r"\s{2,}|\s&|&&|;|>", match.group(1))[0].strip()
            # placeholders and option summaries ([--kind ...], A | B) are not commands
            if any(c in command for c in "[]<>{}…") or "..." in command:
                continue
            out.append((str(page.relative_to(REPO)), command))
    return out


def test_every_command_the_docs_show_parses() -> None:
    commands = _shown_commands()
    assert len(commands) >= 10, commands
    parser = build_parser()
    parser.exit_on_error = False
    bad = []
    for page, command in commands:
        argv = shlex.split(command)[1:]
        if not argv or argv[0] in ("--help", "-h", "--version"):
            continue
        try:
            parser.parse_args(argv)
        except (SystemExit, argparse.ArgumentError) as exc:
            bad.append((page, command, str(exc)))
    assert bad == [], bad
