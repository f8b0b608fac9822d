"""The consistency checks between infra/ and the code, as functions of an infra folder.

Each returns the list of problems it found (empty: consistent), each naming the template, the thing and what
is wrong, so a failing test says what to change. They take the folder as a parameter so a test can run them
on a copy with one line removed and see them fail (tests/infra/test_checks_fail.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fnmatch import fnmatch
from pathlib import Path

from tests.infra.bicep import Block, Template, templates
from tests.infra.permissions import (
    BUILT_IN_ROLES,
    CUSTOM_ROLE_VARIABLES,
    SUBSCRIPTION,
    WORKSPACE,
    Need,
    all_needs,
    custom_role_needs,
)

MAIN = "main.bicep"
ROLES = "modules/roles.bicep"
EVENT_SUBSCRIPTIONS = "modules/event-subscriptions.bicep"
IDENTITY_STORAGE_SETTINGS = ("AzureWebJobsStorage__accountName", "AzureWebJobsStorage__blobServiceUri",
                             "AzureWebJobsStorage__queueServiceUri")
_SETTING = re.compile(r"`((?:MODELWATCH|AzureWebJobs|APPLICATIONINSIGHTS|AZURE)[A-Za-z0-9_]*)`")


# ---- app settings ---------------------------------------------------------------------------------------------
def app_settings(infra: Path) -> list[str]:
    """The names set by main.bicep's `var appSettings` (what the Function App gets, before extraAppSettings)."""
    value = templates(infra)[MAIN].variable("appSettings")
    if not isinstance(value, Block):
        raise ValueError("main.bicep: var appSettings is not an object literal")
    return value.keys()


def documented_settings(readme: Path, heading: str) -> set[str]:
    """Setting names in backticks under the `### <heading>` of infra/README.md (up to the next heading)."""
    text = readme.read_text(encoding="utf-8")
    match = re.search(rf"(?ms)^###[ \t]+{re.escape(heading)}[ \t]*$(.*?)(?=^#{{1,3}}[ \t]|\Z)", text)
    return set(_SETTING.findall(match.group(1))) if match else set()


def check_app_settings(infra: Path, read_by_code: set[str]) -> list[str]:
    """Every setting the code reads is set by the template, or documented as optional (its default serves), or
    documented as never set in Azure; nothing documented as never-set is set; the host storage is identity-based;
    and the template sets no MODELWATCH_ setting the code no longer reads."""
    readme = infra / "README.md"
    setting = set(app_settings(infra))
    optional = documented_settings(readme, "Optional app settings")
    never = documented_settings(readme, "Never set in Azure")
    problems = [f"{MAIN}: app setting {name} is read by the code (shared/) but not set in var appSettings, nor "
                f"listed under 'Optional app settings' or 'Never set in Azure' in infra/README.md"
                for name in sorted(read_by_code - setting - optional - never)]
    problems += [f"{MAIN}: app setting {name} is set, but infra/README.md says it is never set in Azure"
                 for name in sorted(setting & never)]
    problems += [f"{MAIN}: app setting {name} is set but no code in shared/ reads it"
                 for name in sorted(s for s in setting if s.startswith("MODELWATCH_") and s not in read_by_code)]
    problems += [f"{MAIN}: host storage setting {name} is missing (identity-based AzureWebJobsStorage)"
                 for name in IDENTITY_STORAGE_SETTINGS if name not in setting]
    return problems


def check_storage_is_keyless(infra: Path) -> list[str]:
    """The app's storage account disables shared keys, and no template reads an account key."""
    problems = []
    main = templates(infra)[MAIN]
    accounts = [r for r in main.resources("Microsoft.Storage/storageAccounts") if r.type.count("/") == 1
                and not r.existing]
    if not accounts:
        problems.append(f"{MAIN}: declares no storage account")
    for account in accounts:
        props = account.body.value_of("properties")
        value = props.value_of("allowSharedKeyAccess") if isinstance(props, Block) else None
        if value != "false":
            problems.append(f"{MAIN}: storage account {account.symbol} must set allowSharedKeyAccess: false "
                            f"(found {value!r})")
    for name, template in templates(infra).items():
        if re.search(r"listKeys\(|AccountKey=", template.code):
            problems.append(f"{name}: reads a storage account key; the account has shared keys disabled")
    return problems


# ---- events ----------------------------------------------------------------------------------------------------
def subscriptions(infra: Path) -> dict[str, Block]:
    """Event Grid subscriptions of the templates by the function they deliver to."""
    out: dict[str, Block] = {}
    for template in templates(infra).values():
        for resource in template.resources("Microsoft.EventGrid/"):
            if not resource.type.lower().endswith("/eventsubscriptions") or resource.existing:
                continue
            for target in resource.body.find("resourceId"):
                if isinstance(target, str) and (m := re.search(r"/functions/(\w+)'", target)):
                    out[m.group(1)] = resource.body
    return out


def _event_types(body: Block) -> set[str]:
    return {t for found in body.find("includedEventTypes") if isinstance(found, Block) for t in found.strings()}


def check_event_types(infra: Path, routed: Mapping[str, set[str]], routers: Mapping[str, str]) -> list[str]:
    """Each Event Grid function's subscription includes exactly the event types its router acts on
    (`routers`: function -> router, `routed`: router -> event types), retries, and dead-letters."""
    problems = []
    subs = subscriptions(infra)
    for function, router in sorted(routers.items()):
        body = subs.get(function)
        if body is None:
            problems.append(f"{EVENT_SUBSCRIPTIONS}: no Event Grid subscription delivers to {function}")
            continue
        included = _event_types(body)
        problems += [f"{EVENT_SUBSCRIPTIONS}: the subscription to {function} lacks {t}, which {router} acts on"
                     for t in sorted(routed.get(router, set()) - included)]
        problems += [f"{EVENT_SUBSCRIPTIONS}: the subscription to {function} includes {t}, which {router} does "
                     f"not act on" for t in sorted(included - routed.get(router, set()))]
        if not body.find("retryPolicy"):
            problems.append(f"{EVENT_SUBSCRIPTIONS}: the subscription to {function} has no retryPolicy")
        if not (body.find("deadLetterWithResourceIdentity") or body.find("deadLetterDestination")):
            problems.append(f"{EVENT_SUBSCRIPTIONS}: the subscription to {function} has no dead-letter destination")
    return problems


def check_resource_subject_filter(infra: Path, function: str = "on_resource_event") -> list[str]:
    """The resource-group subscription only delivers the workspace's online endpoints (and their deployments)."""
    body = subscriptions(infra).get(function)
    subject = [s for s in body.find("subjectBeginsWith") if isinstance(s, str)] if body else []
    if not subject or not re.search(r"/workspaces/\$\{\w+\}/onlineEndpoints'$", subject[0]):
        return [f"{EVENT_SUBSCRIPTIONS}: the subscription to {function} must filter subjectBeginsWith "
                f".../workspaces/<workspace>/onlineEndpoints (found {subject})"]
    return []


def check_subscribed_functions(infra: Path, indexed: Mapping[str, str]) -> list[str]:
    """Every function a template delivers events to exists in the app's index, with an Event Grid trigger."""
    problems = []
    for function in sorted(subscriptions(infra)):
        if function not in indexed:
            problems.append(f"{EVENT_SUBSCRIPTIONS}: delivers to function {function}, which function_app does not "
                            f"define (it defines {sorted(indexed)})")
        elif indexed[function] != "eventGridTrigger":
            problems.append(f"{EVENT_SUBSCRIPTIONS}: delivers to {function}, a {indexed[function]} function")
    return problems


# ---- roles -----------------------------------------------------------------------------------------------------
def custom_role_actions(infra: Path) -> dict[str, list[str]]:
    """The action lists of modules/roles.bicep, by the place they are for (WORKSPACE, SUBSCRIPTION)."""
    roles = templates(infra)[ROLES]
    out = {}
    for on, variable in CUSTOM_ROLE_VARIABLES.items():
        value = roles.variable(variable)
        out[on] = value.strings() if isinstance(value, Block) else []
    return out


def check_custom_roles(infra: Path) -> list[str]:
    """The custom roles grant exactly the Azure ML actions the adapters need (tests/infra/permissions.py), and
    nothing with a wildcard anywhere in a role definition."""
    problems = []
    granted = custom_role_actions(infra)
    for on in (WORKSPACE, SUBSCRIPTION):
        have = {a.lower() for a in granted.get(on, [])}
        need = custom_role_needs(on)
        variable = CUSTOM_ROLE_VARIABLES[on]
        problems += [f"{ROLES}: {variable} lacks {a}, which an adapter needs (tests/infra/permissions.py)"
                     for a in sorted(need - have)]
        problems += [f"{ROLES}: {variable} grants {a}, which no adapter needs" for a in sorted(have - need)]
    for name, template in templates(infra).items():
        for definition in template.resources("Microsoft.Authorization/roleDefinitions"):
            texts = list(definition.body.strings())
            for variable in CUSTOM_ROLE_VARIABLES.values():
                if variable in definition.body.text:
                    value = template.variable(variable)
                    texts += value.strings() if isinstance(value, Block) else []
            problems += [f"{name}: role {definition.symbol} grants a wildcard action {a!r}"
                         for a in texts if "*" in a]
    return problems


def _assignments(template: Template) -> list[tuple[str, str]]:
    """(roleDefinitionId expression, scope expression) of each role assignment in a template."""
    out = []
    for resource in template.resources("Microsoft.Authorization/roleAssignments"):
        props = resource.body.value_of("properties")
        role = props.value_of("roleDefinitionId") if isinstance(props, Block) else None
        scope = resource.body.value_of("scope")
        out.append((str(role or ""), str(scope or "")))
    return out


def check_built_in_roles(infra: Path, needs: frozenset[Need] | None = None) -> list[str]:
    """Every need outside Azure ML is covered by a built-in role the templates assign at the right scope, and
    the custom roles are assigned: the workspace role on the workspace, the quota role at the subscription."""
    problems = []
    all_templates = templates(infra)
    for need in sorted(needs if needs is not None else all_needs(), key=lambda n: (n.on, n.action)):
        if need.action.startswith("Microsoft.MachineLearningServices/"):
            continue
        roles = [r for r in BUILT_IN_ROLES if r.on == need.on
                 and any(fnmatch(need.action.lower(), p.lower()) for p in r.covers)]
        if not roles:
            problems.append(f"no built-in role in tests/infra/permissions.py covers {need.action} on {need.on}")
            continue
        for role in roles:
            template = all_templates.get(role.template)
            assigned = template is not None and any(
                role.guid in definition and scope == role.scope for definition, scope in _assignments(template))
            if assigned:
                break
        else:
            role = roles[0]
            problems.append(f"{role.template}: {need.action} on the {need.on} needs {role.name} ({role.guid}) "
                            f"assigned with scope: {role.scope}")
    workspace_access = all_templates.get("modules/workspace-access.bicep")
    if workspace_access is None or ("workspaceRoleId", "workspace") not in _assignments(workspace_access):
        problems.append("modules/workspace-access.bicep: the custom workspace role (workspaceRoleId) is not "
                        "assigned with scope: workspace")
    roles_template = all_templates.get(ROLES)
    if roles_template is None or not any(d == "subscriptionRole.id" for d, _ in _assignments(roles_template)):
        problems.append(f"{ROLES}: the custom subscription role is not assigned (at the subscription)")
    return problems


# ---- all of them ----------------------------------------------------------------------------------------------
def all_problems(infra: Path, *, read_by_code: set[str], routed: Mapping[str, set[str]],
                 routers: Mapping[str, str], indexed: Mapping[str, str]) -> list[str]:
    return (check_app_settings(infra, read_by_code) + check_storage_is_keyless(infra)
            + check_event_types(infra, routed, routers) + check_resource_subject_filter(infra)
            + check_subscribed_functions(infra, indexed) + check_custom_roles(infra) + check_built_in_roles(infra))
