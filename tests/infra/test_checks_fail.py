"""Each consistency check fails when the template line it relies on is removed (or changed): the checks of
tests/infra/checks.py run on a copy of infra/ with one line taken out, and name what is now missing."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.infra import checks, code_facts

INFRA = Path(__file__).resolve().parents[2] / "infra"

Check = Callable[[Path], list[str]]


def _settings(infra: Path) -> list[str]:
    return checks.check_app_settings(infra, code_facts.settings_read())


def _events(infra: Path) -> list[str]:
    return checks.check_event_types(infra, code_facts.accepted_event_types(), code_facts.event_functions())


def _functions(infra: Path) -> list[str]:
    return checks.check_subscribed_functions(infra, code_facts.indexed_functions())


def edited_copy(tmp_path: Path, file: str, line_with: str, replacement: str | None = None) -> Path:
    """A copy of infra/ where the first line of `file` containing `line_with` is removed (or, with
    `replacement`, has `line_with` replaced)."""
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy)
    path = copy / file
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if line_with in line]
    assert hits, f"{file} has no line with {line_with!r}: the case no longer matches the template"
    if replacement is None:
        del lines[hits[0]]
    else:
        lines[hits[0]] = lines[hits[0]].replace(line_with, replacement)
    path.write_text("".join(lines), encoding="utf-8")
    return copy


CASES: list[tuple[str, Check, str, str, str | None, str]] = [
    # (case id, check, file, the line, replacement, what the problem must name)
    ("setting-removed", _settings, "main.bicep", "MODELWATCH_WORKSPACE: workspaceName", None, "MODELWATCH_WORKSPACE"),
    ("optional-setting-undocumented", _settings, "README.md", "`MODELWATCH_SLO_EVERY`", None, "MODELWATCH_SLO_EVERY"),
    ("identity-storage-setting-removed", _settings, "main.bicep", "AzureWebJobsStorage__queueServiceUri:", None,
     "AzureWebJobsStorage__queueServiceUri"),
    ("shared-keys-allowed", checks.check_storage_is_keyless, "main.bicep", "allowSharedKeyAccess: false", None,
     "allowSharedKeyAccess"),
    ("event-type-removed", _events, "modules/event-subscriptions.bicep",
     "'Microsoft.MachineLearningServices.RunStatusChanged'", None, "RunStatusChanged"),
    ("event-type-not-acted-on-added", _events, "modules/event-subscriptions.bicep",
     "'Microsoft.Resources.ResourceDeleteSuccess'",
     "'Microsoft.Resources.ResourceDeleteSuccess'\n        'Microsoft.Resources.ResourceWriteFailure'",
     "ResourceWriteFailure"),
    ("retry-removed", _events, "modules/event-subscriptions.bicep", "retryPolicy: retryPolicy", None, "retryPolicy"),
    ("subject-filter-removed", checks.check_resource_subject_filter, "modules/event-subscriptions.bicep",
     "subjectBeginsWith:", None, "subjectBeginsWith"),
    ("function-renamed", _functions, "modules/event-subscriptions.bicep", "/functions/on_ml_event'",
     "/functions/on_model_event'", "on_model_event"),
    ("role-action-removed", checks.check_custom_roles, "modules/roles.bicep",
     "'Microsoft.MachineLearningServices/locations/usages/read'", None, "locations/usages/read"),
    ("role-action-widened", checks.check_custom_roles, "modules/roles.bicep",
     "'Microsoft.MachineLearningServices/workspaces/jobs/read'",
     "'Microsoft.MachineLearningServices/workspaces/*/read'", "wildcard"),
    ("built-in-role-removed", checks.check_built_in_roles, "modules/workspace-access.bicep",
     "'43d0d8ad-25c7-4714-9337-8ba259a9fe05'", None, "Monitoring Reader"),
    ("workspace-storage-reader-removed", checks.check_built_in_roles, "modules/storage-reader.bicep",
     "'2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'", None, "Storage Blob Data Reader"),
    ("custom-role-unassigned", checks.check_built_in_roles, "modules/workspace-access.bicep",
     "roleDefinitionId: workspaceRoleId", None, "workspaceRoleId"),
]


@pytest.mark.parametrize(("check", "file", "line", "replacement", "named"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_check_fails_naming_what_the_edited_template_lost(
        tmp_path: Path, check: Check, file: str, line: str, replacement: str | None, named: str) -> None:
    assert check(INFRA) == []  # the real templates pass it
    problems = check(edited_copy(tmp_path, file, line, replacement))
    assert any(named in p for p in problems), problems


def test_a_removed_role_action_fails_with_a_message_naming_the_template_and_the_action(tmp_path: Path) -> None:
    """The example of the issue's note: take `locations/usages/read` out of the quota role."""
    edited = edited_copy(tmp_path, "modules/roles.bicep", "'Microsoft.MachineLearningServices/locations/usages/read'")
    assert checks.check_custom_roles(edited) == [
        "modules/roles.bicep: subscriptionActions lacks microsoft.machinelearningservices/locations/usages/read, "
        "which an adapter needs (tests/infra/permissions.py)"]
