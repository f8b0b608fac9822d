"""The deployment package (.funcignore + tools/package.py): what `func azure functionapp publish` would upload
holds the app and none of the development tools, and the check fails when .funcignore lets one through."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tools.package import FuncIgnore, build

ROOT = Path(__file__).resolve().parents[2]


def run_package(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tools.package", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def small_app(root: Path, funcignore: str | None) -> Path:
    for path in ("function_app.py", "host.json", "requirements.txt", "shared/events.py", "tests/test_x.py",
                 "devhost/server.py", ".venv/lib/site.py", "shared/__pycache__/events.cpython-311.pyc"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("x\n")
    if funcignore is not None:
        (root / ".funcignore").write_text(funcignore)
    return root


def test_the_repositorys_package_is_clean_and_its_size_is_reported(tmp_path: Path) -> None:
    out = tmp_path / "package.zip"
    result = run_package("--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "MB zipped" in result.stdout
    names = zipfile.ZipFile(out).namelist()
    assert {"function_app.py", "host.json", "requirements.txt", "shared/events.py", "monitors/verdict.py"} <= set(names)


def test_the_repositorys_package_holds_nothing_but_the_app(tmp_path: Path) -> None:
    package = build(ROOT, tmp_path / "package.zip")
    tops = {name.split("/")[0] for name in package.files}
    assert tops == {"function_app.py", "host.json", "requirements.txt", "shared", "monitors"}
    assert not [f for f in package.files if "__pycache__" in f or f.endswith((".md", ".pyc"))]


def test_the_check_fails_when_funcignore_lets_a_development_tool_through(tmp_path: Path) -> None:
    app = small_app(tmp_path, ".venv\ndevhost\n**/__pycache__\n")  # tests/ forgotten
    result = run_package("--root", str(app))
    assert result.returncode == 1
    assert "the package holds tests/test_x.py" in result.stdout


def test_the_check_fails_without_a_funcignore(tmp_path: Path) -> None:
    result = run_package("--root", str(small_app(tmp_path, None)))
    assert result.returncode == 1
    assert ".venv/lib/site.py" in result.stdout and "devhost/server.py" in result.stdout


def test_the_check_fails_when_the_app_itself_is_left_out(tmp_path: Path) -> None:
    result = run_package("--root", str(small_app(tmp_path, "tests\ndevhost\n.venv\nhost.json\n")))
    assert result.returncode == 1
    assert "lacks host.json" in result.stdout


def test_a_bare_name_only_matches_at_the_top_as_core_tools_reads_it() -> None:
    """Why .funcignore spells nested patterns with **/: Core Tools anchors every pattern at the path's start."""
    bare, nested = FuncIgnore("__pycache__"), FuncIgnore("**/__pycache__")
    assert bare.denies("__pycache__/x.pyc") and bare.accepts("shared/__pycache__/x.pyc")
    assert nested.denies("shared/__pycache__/x.pyc")


def test_a_pattern_matches_whole_names_and_negation_brings_a_file_back() -> None:
    ignore = FuncIgnore("tests\n*.md\n!README.md\n")
    assert ignore.denies("tests/unit/test_a.py") and ignore.accepts("tests_helper.py")
    assert ignore.denies("CHANGES.md") and ignore.accepts("README.md")
