"""Print the Python versions pyproject.toml declares (its classifiers) as a JSON list.

One source for .ci/run and the tests workflow's matrix. Fails if the oldest one is not
the `requires-python` bound, so the two declarations cannot drift apart. Runs on the
machine's own python3 (3.11 or newer: tomllib).
"""

import json
import re
import sys
from pathlib import Path

import tomllib

project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
prefix = "Programming Language :: Python :: "
versions = [c.removeprefix(prefix) for c in project["classifiers"] if c.startswith(prefix)]
versions = sorted((v for v in versions if re.fullmatch(r"3\.\d+", v)), key=lambda v: int(v[2:]))
if project["requires-python"] != f">={versions[0]}":
    sys.exit(
        f"requires-python is {project['requires-python']!r}, "
        f"but the oldest Python among the classifiers is {versions[0]}"
    )
print(json.dumps(versions))
