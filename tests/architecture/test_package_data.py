"""Every file the code reads from inside the package ships with it: a non-editable install
(a wheel) holds only the Python files and what [tool.setuptools.package-data] lists."""

from __future__ import annotations

import subprocess
import tomllib
from fnmatch import fnmatch

from orchestration.settings import PROJECT_DIR


def test_every_tracked_data_file_of_the_package_is_listed():
    pyproject = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["orchestration"]
    tracked = subprocess.run(
        ["git", "ls-files", "orchestration"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    ).stdout.split()
    data = [path.removeprefix("orchestration/") for path in tracked if not path.endswith(".py")]
    assert data, "git ls-files found no data files: is this a git checkout?"
    unlisted = [path for path in data if not any(fnmatch(path, pattern) for pattern in patterns)]
    assert not unlisted, f"add these to [tool.setuptools.package-data] in pyproject.toml: {unlisted}"
