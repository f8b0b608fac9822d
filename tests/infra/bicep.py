"""Just enough Bicep reading for the consistency tests: resources, variables, lists of strings, object keys.

The Bicep compiler cannot be installed here, so the templates are read as text. To stay robust the reader
knows Bicep's lexical rules that matter (// and /* */ comments, '...' strings with \\' escapes and ${...}
interpolations that may hold strings, ''' multi-line strings) and finds structure by bracket matching on a
copy where comments and string contents are blanked, so a brace or a keyword inside a string or a comment
never counts. It never evaluates an expression: the tests compare names and literals, which is what the
templates must get right for the code to work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

_OPEN = {"{": "}", "[": "]", "(": ")"}
_RESOURCE = re.compile(r"^[ \t]*resource[ \t]+(\w+)[ \t]+'([^'@]+)@([^']+)'[ \t]*(existing)?[ \t]*=", re.MULTILINE)
_MODULE = re.compile(r"^[ \t]*module[ \t]+(\w+)[ \t]+'([^']+)'[ \t]*=", re.MULTILINE)
_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'")


def _blank(text: str, keep_strings: bool) -> str:
    """The text with comments (and, unless keep_strings, string literals but their quotes) replaced by spaces.
    Newlines stay, so offsets and line numbers are the same as in the original."""
    out = list(text)
    i, n = 0, len(text)
    # a stack of contexts: "code" (with the depth of { inside an interpolation) or "string"
    stack: list[list[object]] = [["code", 0]]

    def blank(start: int, end: int) -> None:
        for k in range(start, end):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        kind = stack[-1][0]
        ch = text[i]
        if kind == "code":
            if text.startswith("//", i):
                end = text.find("\n", i)
                end = n if end < 0 else end
                blank(i, end)
                i = end
            elif text.startswith("/*", i):
                end = text.find("*/", i + 2)
                end = n if end < 0 else end + 2
                blank(i, end)
                i = end
            elif text.startswith("'''", i):
                end = text.find("'''", i + 3)
                end = n if end < 0 else end + 3
                if not keep_strings:
                    blank(i + 3, end - 3)
                i = end
            elif ch == "'":
                stack.append(["string", i])
                i += 1
            elif ch == "{" and len(stack) > 1:
                stack[-1][1] = int(stack[-1][1]) + 1  # type: ignore[call-overload]
                i += 1
            elif ch == "}" and len(stack) > 1:
                if int(stack[-1][1]) == 0:  # type: ignore[call-overload]
                    stack.pop()  # the interpolation ends: back in its string
                    if not keep_strings:
                        out[i] = " "
                else:
                    stack[-1][1] = int(stack[-1][1]) - 1  # type: ignore[call-overload]
                i += 1
            else:
                i += 1
        else:  # inside a '...' string
            if ch == "\\":
                if not keep_strings:
                    blank(i, min(i + 2, n))
                i += 2
            elif ch == "'":
                stack.pop()
                i += 1
            elif text.startswith("${", i):
                if not keep_strings:
                    blank(i, i + 2)
                stack.append(["code", 0])
                i += 2
            else:
                if not keep_strings and ch != "\n":
                    out[i] = " "
                i += 1
    if not keep_strings:
        # interpolated code inside strings is blanked too: structure is only the template's own brackets
        for match in _STRING.finditer("".join(out)):
            blank(match.start() + 1, match.end() - 1)
    return "".join(out)


@dataclass(frozen=True)
class Block:
    """A bracketed part of a template: `text` with comments blanked, `start` its offset in the file."""

    text: str
    start: int
    template: Template

    @property
    def masked(self) -> str:
        return self.template.masked[self.start:self.start + len(self.text)]

    def strings(self) -> list[str]:
        """Every string literal in the block, in order (the unescaped text between the quotes)."""
        return [m.group(1).replace("\\'", "'") for m in _STRING.finditer(self.text)]

    def keys(self) -> list[str]:
        """The property names at the block's own level (depth 1 of `{ ... }`), quoted or not."""
        found, depth = [], 0
        masked = self.masked
        line_start = 0
        for k, ch in enumerate(masked):
            if k == line_start and depth == 1:
                m = re.match(r"[ \t]*('(?:[^'\\]|\\.)*'|[A-Za-z_][\w]*)[ \t]*:", self.text[k:])
                if m:
                    found.append(m.group(1).strip("'"))
            if ch in "{[(":
                depth += 1
            elif ch in "}])":
                depth -= 1
            elif ch == "\n":
                line_start = k + 1
        return found

    def value_of(self, key: str) -> Block | str | None:
        """The value of `key` at the block's own level: a Block for { } or [ ], else the expression's text."""
        masked = self.masked
        for match in re.finditer(rf"(?m)^[ \t]*'?{re.escape(key)}'?[ \t]*:[ \t]*", self.text):
            if _depth(masked, match.start()) != 1:
                continue
            at = match.end()
            if masked[at:at + 1] in ("{", "["):
                return self.template.block_at(self.start + at)
            end = self.text.find("\n", at)
            return self.text[at:end if end >= 0 else len(self.text)].strip()
        return None

    def find(self, key: str) -> list[Block | str]:
        """Values of `key` at any depth in the block."""
        out: list[Block | str] = []
        for match in re.finditer(rf"(?m)^[ \t]*'?{re.escape(key)}'?[ \t]*:[ \t]*", self.text):
            at = match.end()
            if self.masked[at:at + 1] in ("{", "["):
                out.append(self.template.block_at(self.start + at))
            else:
                end = self.text.find("\n", at)
                out.append(self.text[at:end if end >= 0 else len(self.text)].strip())
        return out


def _depth(masked: str, index: int) -> int:
    depth = 0
    for ch in masked[:index]:
        if ch in "{[(":
            depth += 1
        elif ch in "}])":
            depth -= 1
    return depth


@dataclass(frozen=True)
class Resource:
    symbol: str
    type: str
    api_version: str
    existing: bool
    body: Block


@dataclass(frozen=True)
class Template:
    path: Path

    @cached_property
    def raw(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @cached_property
    def code(self) -> str:
        """The file with comments blanked (strings kept)."""
        return _blank(self.raw, keep_strings=True)

    @cached_property
    def masked(self) -> str:
        """The file with comments and string contents blanked: only the template's own structure is left."""
        return _blank(self.raw, keep_strings=False)

    def block_at(self, index: int) -> Block:
        """The bracketed block opening at `index` (a {, [ or ( in the template's own structure)."""
        opener = self.masked[index]
        if opener not in _OPEN:
            raise ValueError(f"{self.path.name}: no bracket at offset {index} (found {opener!r})")
        depth = 0
        for k in range(index, len(self.masked)):
            ch = self.masked[k]
            if ch in "{[(":
                depth += 1
            elif ch in "}])":
                depth -= 1
                if depth == 0:
                    return Block(self.code[index:k + 1], index, self)
        raise ValueError(f"{self.path.name}: bracket at offset {index} is never closed")

    def _body_after(self, index: int) -> Block:
        """The first { after `index` (skipping `if (...)` and `[for x in y:`), as a block."""
        k = index
        while k < len(self.masked) and self.masked[k] != "{":
            k += 1
        return self.block_at(k)

    def resources(self, type_prefix: str = "") -> list[Resource]:
        """Resource declarations whose type starts with `type_prefix` (case-insensitive)."""
        out = []
        for m in _RESOURCE.finditer(self.code):
            keyword = m.start() + m.group(0).index("resource")
            if self.masked[keyword] != "r":  # the word is inside a string, not a declaration
                continue
            if m.group(2).lower().startswith(type_prefix.lower()):
                out.append(Resource(m.group(1), m.group(2), m.group(3), bool(m.group(4)), self._body_after(m.end())))
        return out

    def modules(self) -> dict[str, tuple[str, Block]]:
        """Module declarations: symbol -> (path as written, body)."""
        return {m.group(1): (m.group(2), self._body_after(m.end())) for m in _MODULE.finditer(self.code)}

    def variable(self, name: str) -> Block | str:
        """`var name = ...`: a Block for an object or array, else the expression's text."""
        m = re.search(rf"(?m)^[ \t]*var[ \t]+{re.escape(name)}[ \t]*=[ \t]*", self.code)
        if m is None:
            raise KeyError(f"{self.path.name} declares no variable {name!r}")
        if self.masked[m.end():m.end() + 1] in ("{", "["):
            return self.block_at(m.end())
        end = self.code.find("\n", m.end())
        return self.code[m.end():end].strip()

    def parameters(self) -> list[str]:
        return re.findall(r"(?m)^[ \t]*param[ \t]+(\w+)[ \t]", self.code)


def templates(infra: Path) -> dict[str, Template]:
    """Every .bicep file under `infra`, by path relative to it (e.g. `modules/roles.bicep`)."""
    return {p.relative_to(infra).as_posix(): Template(p) for p in sorted(infra.rglob("*.bicep"))}
