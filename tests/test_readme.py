"""The README's usage example runs, and its quick-start commands are the ones CI uses."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language):
    return re.findall(rf"^```{language}\n(.*?)^```$", README, flags=re.MULTILINE | re.DOTALL)


def test_usage_example_runs(capsys):
    (example,) = _blocks("python")
    exec(compile(example, "README.md", "exec"), {})
    printed = capsys.readouterr().out.split()
    assert float(printed[-1]) < 1e-7  # the gradient check it prints


def test_ci_runs_the_readme_test_command_verbatim():
    commands = [block.strip() for block in _blocks("bash")]
    assert len(commands) == 2
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
