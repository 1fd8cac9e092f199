"""The README's quick start on a fresh machine: ci/lab.sh and ci/test.sh (through ci/env.sh).

A learner runs `bash ci/lab.sh`, works through a lesson, then runs `bash ci/test.sh`: JupyterLab's autosave must not
have rewritten the committed notebooks (the tests compare against them, and git status must stay clean), so the
lab opens a git-ignored working copy. Both commands check Python >= 3.10 and a working venv/pip, say what to
install when they are missing, and mend a half-made .venv left by a failed first run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def bash(script: str, cwd: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def copy_of_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("ci", "notebooks"):
        shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("requirements.txt", "requirements-test.txt", "constraints.txt"):
        shutil.copy(ROOT / name, repo / name)
    return repo


def test_lab_opens_a_git_ignored_working_copy(tmp_path):
    repo = copy_of_repo(tmp_path)
    (repo / "work").mkdir()
    mine = repo / "work" / sorted(p.name for p in (repo / "notebooks").glob("*.ipynb"))[0]
    mine.write_text("my own work")
    before = {p.name: p.read_bytes() for p in (repo / "notebooks").glob("*.ipynb")}
    # `--version` makes jupyter lab print its version and exit instead of serving.
    r = bash("bash ci/lab.sh --version", repo, VENV=str(Path(sys.executable).parent.parent))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (repo / "work").glob("*.ipynb")) == sorted(before), "work/ holds every lesson"
    assert mine.read_text() == "my own work", "a learner's working copy was overwritten"
    assert {p.name: p.read_bytes() for p in (repo / "notebooks").glob("*.ipynb")} == before
    ignored = subprocess.run(["git", "check-ignore", "-q", "work/01_one_step.ipynb"], cwd=ROOT)
    assert ignored.returncode == 0, "work/ must be git-ignored (.gitignore)"


def test_too_old_or_missing_python_is_named(tmp_path):
    old = tmp_path / "python3.9"
    old.write_text("#!/bin/sh\n[ \"$1\" = --version ] && echo 'Python 3.9.18' && exit 0\nexit 1\n")
    old.chmod(0o755)
    r = bash("source ci/env.sh; check_python", ROOT, PYTHON=str(old))
    assert r.returncode == 1 and "Python >= 3.10 is needed" in r.stderr and "3.9.18" in r.stderr, r.stderr
    r = bash("source ci/env.sh; check_python", ROOT, PYTHON=str(tmp_path / "nowhere"))
    assert r.returncode == 1 and "Install Python >= 3.10" in r.stderr, r.stderr


def test_a_half_made_venv_is_made_again(tmp_path):
    (tmp_path / ".venv" / "bin").mkdir(parents=True)  # what an interrupted `python3 -m venv` can leave
    r = bash(f"source {ROOT}/ci/env.sh; make_venv", tmp_path, VENV=".venv")  # the default, whatever VENV says
    assert r.returncode == 0 and "incomplete" in r.stderr, r.stderr
    assert subprocess.run([tmp_path / ".venv" / "bin" / "python", "-m", "pip", "--version"],
                          capture_output=True).returncode == 0


def test_a_broken_venv_elsewhere_is_not_deleted(tmp_path):
    other = tmp_path / "mine"
    (other / "keep.txt").parent.mkdir()
    (other / "keep.txt").write_text("x")
    r = bash(f"source {ROOT}/ci/env.sh; make_venv", tmp_path, VENV=str(other))
    assert r.returncode == 1 and "remove it, or choose another VENV" in r.stderr
    assert (other / "keep.txt").exists()
