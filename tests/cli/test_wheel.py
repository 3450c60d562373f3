"""`pip install .` gets everything the docs and the unit name: the wheel built from this tree
holds every module, template, migration and demo file, the examples and the systemd files the
README installs, the README the unit's Documentation= names, and the Apache-2.0 LICENSE."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = "helpdeskd-0.1.0.data/data/"


def tree(folder: str) -> set[str]:
    base = ROOT / folder
    return {
        p.relative_to(ROOT).as_posix()
        for p in base.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    (wheel,) = out.glob("helpdeskd-*.whl")
    with zipfile.ZipFile(wheel) as z:
        return set(z.namelist())


@pytest.mark.slow
def test_wheel_has_every_module_and_data_file(wheel_files: set[str]) -> None:
    for package in ("daemon", "connectors"):
        missing = {f for f in tree(package) if not f.endswith(".pyc")} - wheel_files
        assert not missing, missing
    templates = {f.replace("templates/", "daemon/_templates/", 1) for f in tree("templates")}
    assert templates and not templates - wheel_files


@pytest.mark.slow
def test_wheel_has_what_the_readme_and_the_unit_name(wheel_files: set[str]) -> None:
    docs = {DATA + "share/doc/helpdeskd/" + f for f in ("README.md", "LICENSE")}
    examples = {DATA + "share/doc/helpdeskd/" + f for f in tree("examples")}
    units = {DATA + "share/helpdeskd/" + f for f in tree("systemd")}
    assert not (docs | examples | units) - wheel_files
    assert "helpdeskd-0.1.0.dist-info/licenses/LICENSE" in wheel_files
    unit = (ROOT / "systemd" / "helpdeskd.service").read_text()
    for doc in re.findall(r"file:///usr/(share/doc/\S+)", unit):
        assert DATA + doc in wheel_files, doc  # under the install prefix


def test_license_is_the_apache_2_text_pyproject_names() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert 'license = "Apache-2.0"' in (ROOT / "pyproject.toml").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX" in text
    assert len(text.split()) > 1500
