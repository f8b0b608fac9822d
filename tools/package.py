"""Build the deployment package as `func azure functionapp publish` does, and check that it holds only the app.

Core Tools (src/Cli/func: ZipHelper.GetAppZipFile, FileSystemHelpers.GetLocalFiles, GitIgnoreParser) zips every
file under the app root except the directories `.git` and `.vscode`, the files `.funcignore`, `.gitignore`,
`local.settings.json` and `project.lock.json`, and whatever `.funcignore` denies. Its parser is not git's:
each pattern becomes a regular expression anchored at the start of the path and followed by a word boundary
(`*` -> one or more non-slash characters, `**` -> one or more characters; `?`, `[`, `]` and the like are
literal), a leading `/` is dropped, `!` re-includes, and a path is left out when a pattern matches it and no
negated one does. This module does the same, so what it packs is what a publish would upload (Python with a
remote build, the default on Flex Consumption: the files as they are, dependencies installed by Azure).

It fails (exit 1) when the package holds anything of the development tools (devhost, emulator, tests, bench,
.venv, node_modules) or lacks the app's own entry files, and prints the package's size.

Usage: python -m tools.package [--root DIR] [--out FILE.zip] [--list]
Exit codes: 0 the package is clean; 1 it holds what must not be deployed, or lacks the app; 2 bad usage.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ALWAYS_EXCLUDED_DIRECTORIES = (".git", ".vscode")
ALWAYS_EXCLUDED_FILES = (".funcignore", ".gitignore", "local.settings.json", "project.lock.json")
#: top-level folders of development tools that must never reach Azure
FORBIDDEN_TOP = ("devhost", "emulator", "tests", "bench")
#: folders that must never reach Azure at any depth
FORBIDDEN_ANYWHERE = (".venv", "node_modules")
#: what the package must hold for the app to start
REQUIRED = ("function_app.py", "host.json", "requirements.txt")

_ESCAPE = re.compile(r"[\-\[\]\/\{\}\(\)\+\?\.\\\^\$\|]")
_NEVER = re.compile(r"(?!)")


def _regex(pattern: str) -> str:
    escaped = _ESCAPE.sub(lambda m: "\\" + m.group(0), pattern)
    return escaped.replace("**", "(.+)").replace("*", r"([^\/]+)")


class FuncIgnore:
    """Core Tools' reading of a .funcignore file (a port of its GitIgnoreParser)."""

    def __init__(self, text: str) -> None:
        positive, negative = [], []
        for line in (raw.strip() for raw in text.split("\n")):
            if not line or line.startswith("#"):
                continue
            is_negative = line.startswith("!")
            line = line[1:] if is_negative else line
            line = line[1:] if line.startswith("/") else line
            (negative if is_negative else positive).append(line)
        self.negated = bool(negative)
        self._positive = self._compile(positive)
        self._negative = self._compile(negative)

    @staticmethod
    def _compile(patterns: list[str]) -> re.Pattern[str]:
        if not patterns:
            return _NEVER
        return re.compile("^((" + ")|(".join(_regex(p) for p in sorted(patterns)) + r"))\b", re.ASCII)

    def accepts(self, path: str) -> bool:
        """Whether the file at `path` (relative, with /) goes into the package."""
        return bool(self._negative.search(path)) or not self._positive.search(path)

    def denies(self, path: str) -> bool:
        return not self.accepts(path)


def package_files(root: Path) -> list[str]:
    """The relative paths (with /) `func` would put in the package of the app at `root`, sorted."""
    ignore_file = root / ".funcignore"
    ignore = FuncIgnore(ignore_file.read_text(encoding="utf-8")) if ignore_file.is_file() else FuncIgnore("")
    files = []
    for directory, subdirectories, names in os.walk(root):
        relative_dir = Path(directory).relative_to(root).as_posix()
        prefix = "" if relative_dir == "." else relative_dir + "/"
        kept = []
        for name in sorted(subdirectories):
            if name.lower() in ALWAYS_EXCLUDED_DIRECTORIES:
                continue
            # Without negations nothing under a denied folder can come back: skip walking it (.venv, node_modules).
            if not ignore.negated and ignore.denies(f"{prefix}{name}/"):
                continue
            kept.append(name)
        subdirectories[:] = kept
        for name in names:
            if name.lower() in ALWAYS_EXCLUDED_FILES:
                continue
            path = f"{prefix}{name}"
            if ignore.accepts(path):
                files.append(path)
    return sorted(files)


@dataclass(frozen=True)
class Package:
    files: list[str]
    zip_bytes: int
    unpacked_bytes: int
    forbidden: list[str]
    missing: list[str]

    @property
    def clean(self) -> bool:
        return not self.forbidden and not self.missing


def forbidden(files: list[str]) -> list[str]:
    """The files of the development tools: a forbidden top-level folder, or .venv / node_modules anywhere."""
    out = []
    for path in files:
        parts = path.split("/")
        if (len(parts) > 1 and parts[0] in FORBIDDEN_TOP) or any(p in FORBIDDEN_ANYWHERE for p in parts[:-1]):
            out.append(path)
    return out


def build(root: Path, out: Path) -> Package:
    """Zip the package of the app at `root` into `out` and say what it holds."""
    files = package_files(root)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(root / path, path)
    return Package(files=files, zip_bytes=out.stat().st_size,
                   unpacked_bytes=sum((root / p).stat().st_size for p in files),
                   forbidden=forbidden(files), missing=[r for r in REQUIRED if r not in files])


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.2f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.package", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="the function app root (default: this repo)")
    parser.add_argument("--out", type=Path, help="where to write the zip (default: a temporary file, removed)")
    parser.add_argument("--list", action="store_true", help="print every file of the package")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if not root.is_dir():
        print(f"error: {root} is not a folder", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out.resolve() if args.out else Path(scratch) / "package.zip"
        package = build(root, out)
        if args.list:
            for path in package.files:
                print(path)
        where = str(out) if args.out else "(not kept: pass --out to keep it)"
        print(f"package of {root}: {len(package.files)} files, {_mb(package.zip_bytes)} zipped "
              f"({_mb(package.unpacked_bytes)} unpacked) {where}")
    for path in package.forbidden:
        print(f"error: the package holds {path}, a development tool file (add its folder to .funcignore)")
    for path in package.missing:
        print(f"error: the package lacks {path}: the app cannot start without it")
    return 0 if package.clean else 1


if __name__ == "__main__":
    sys.exit(main())
