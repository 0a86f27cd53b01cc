"""The student's path ships exactly the package in src/ (tests/student_path.py)."""

import zipfile

import pytest
import student_path


def _wheel(path, names):
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, "")
    return path


def test_the_wheel_check_accepts_exactly_the_source_and_catches_a_stale_module(tmp_path):
    src = student_path.ROOT / "src"
    source = [p.relative_to(src).as_posix() for p in (src / "normreg").rglob("*.py")]
    student_path.check_wheel(_wheel(tmp_path / "good.whl", [*source, "normreg-0.dist-info/RECORD"]))
    # a module deleted from src/ but left in setuptools' build/ directory (it happened:
    # normreg/models.py beside the normreg/models package)
    stale = _wheel(tmp_path / "stale.whl", [*source, "normreg/models.py"])
    with pytest.raises(SystemExit, match=r"extra \['normreg/models.py'\]"):
        student_path.check_wheel(stale)
    missing = _wheel(tmp_path / "missing.whl", [n for n in source if n != "normreg/losses.py"])
    with pytest.raises(SystemExit, match=r"missing \['normreg/losses.py'\]"):
        student_path.check_wheel(missing)
