"""Every Python block of the README runs and prints what its comments promise; its math is the
kind GitHub renders; its quick-start test command is the one CI runs."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language):
    return re.findall(rf"^```{language}\n(.*?)^```$", README, flags=re.MULTILINE | re.DOTALL)


PYTHON = _blocks("python")


def run(block: str, capsys) -> list[str]:
    """Execute one block on its own, as a reader would paste it; return the lines it printed."""
    exec(compile(block, "README.md", "exec"), {})
    return capsys.readouterr().out.splitlines()


def block_with(text: str) -> str:
    (block,) = [block for block in PYTHON if text in block]
    return block


@pytest.mark.parametrize("block", PYTHON, ids=[f"block-{i}" for i in range(1, len(PYTHON) + 1)])
def test_every_python_block_runs(block: str, capsys) -> None:
    assert run(block, capsys), "a README block that prints nothing shows the reader nothing"


def test_layer_tour_prints_the_shapes_and_a_passing_gradient_check(capsys) -> None:
    printed = run(block_with("check_layer("), capsys)
    assert "(3, 2) (1, 2) (8, 3)" in printed
    assert float(printed[-1]) < 1e-7  # the gradient check's largest relative error


def test_network_tour_learns_the_spirals_and_round_trips(capsys) -> None:
    printed = run(block_with("Sequential.load("), capsys)
    (accuracy,) = re.findall(r"training accuracy (\d+)%", "\n".join(printed))
    assert int(accuracy) >= 90
    assert printed[-1] == "True"  # the loaded model predicts exactly what the saved one did


def test_math_is_written_the_way_github_renders_it() -> None:
    prose = re.sub(r"^```.*?^```$", "", README, flags=re.MULTILINE | re.DOTALL)
    assert not re.findall(r"\\[(\[]", prose), r"GitHub shows \( \) and \[ \] as raw TeX"
    assert "$" in prose


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    commands = [block.strip() for block in _blocks("bash")]
    assert len(commands) == 2
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
