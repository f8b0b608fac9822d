"""The Bicep reader the consistency checks stand on: brackets, keywords and quotes inside strings and
comments never count as structure."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.bicep import Block, Template

SOURCE = """
// a comment with a 'quote, a { brace and resource x 'T@1' = {
/* a block comment: var hidden = [ 'no' ] */
var settings = {
  A: 'a } brace and // not a comment'
  B: '${empty(p) ? 'yes' : 'no'}/tail'
  'C-quoted': '''multi { line
  string'''
  nested: {
    D: 1
  }
}
var actions = [
  'one'
  'it\\'s two'
]
param p string
resource res 'Microsoft.Test/things@2024-01-01' = if (true) {
  name: 'res'
  description: 'resource fake \\'T@1\\' = { in a string'
}
"""


def template(tmp_path: Path) -> Template:
    path = tmp_path / "t.bicep"
    path.write_text(SOURCE)
    return Template(path)


def test_keys_are_those_of_the_objects_own_level(tmp_path: Path) -> None:
    settings = template(tmp_path).variable("settings")
    assert isinstance(settings, Block)
    assert settings.keys() == ["A", "B", "C-quoted", "nested"]


def test_strings_are_unescaped_and_comments_are_not_read(tmp_path: Path) -> None:
    actions = template(tmp_path).variable("actions")
    assert isinstance(actions, Block)
    assert actions.strings() == ["one", "it's two"]


def test_declarations_inside_comments_or_strings_are_not_declarations(tmp_path: Path) -> None:
    t = template(tmp_path)
    assert [(r.symbol, r.type) for r in t.resources()] == [("res", "Microsoft.Test/things")]
    assert t.parameters() == ["p"]
    with pytest.raises(KeyError):
        t.variable("hidden")  # declared inside a block comment


def test_a_resource_body_is_found_after_its_condition(tmp_path: Path) -> None:
    [res] = template(tmp_path).resources("Microsoft.Test/")
    assert res.body.value_of("name") == "'res'"
