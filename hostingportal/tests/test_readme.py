"""The README's commands work as written on a fresh clone: no bare `python manage.py`
(which needs an activated venv), every script it names exists and is executable,
and every management command it names is a real one."""

import os
import re
from pathlib import Path

from django.core.management import get_commands

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_command_lines():
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.S)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_no_readme_command_needs_an_activated_venv():
    bare = [line for line in readme_command_lines() if re.match(r"(python3?|pip) ", line)]
    assert bare == []


def test_every_script_the_readme_names_exists_and_runs():
    root = README.parent
    for line in readme_command_lines():
        program = line.split()[0]
        if "=" in program:  # an environment assignment first: `X=1 scripts/test`
            program = line.split()[1]
        path = root / program
        assert path.is_file(), line
        assert os.access(path, os.X_OK), line


def test_every_management_command_the_readme_names_exists():
    named = re.findall(r"(?:scripts/manage|manage\.py) ([a-z0-9_]+)", README.read_text())
    assert named, "the README shows no management command"
    assert set(named) <= set(get_commands())


def test_the_readme_links_only_documents_a_clone_has():
    """A clone of the project has no ../shared/: the interfaces are described in docs/."""
    text = README.read_text()
    assert "../shared" not in text
    for target in re.findall(r"`(docs/[\w./-]+\.md)`", text):
        assert (README.parent / target).exists(), target
    assert "docs/interfaces.md" in text


def test_the_readme_says_what_the_browser_tests_need():
    assert "apt-get install chromium" in README.read_text()
