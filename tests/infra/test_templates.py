"""infra/ agrees with the code: settings, event types, subscribed functions, keyless storage, roles.

Each test runs one check of tests/infra/checks.py on the real templates; tests/infra/test_checks_fail.py shows
each check failing when the template line it relies on is removed.
"""

from __future__ import annotations

from pathlib import Path

from tests.infra import checks, code_facts

INFRA = Path(__file__).resolve().parents[2] / "infra"


def test_every_setting_the_code_reads_is_set_or_documented_as_optional() -> None:
    assert checks.check_app_settings(INFRA, code_facts.settings_read()) == []


def test_the_app_storage_account_has_shared_keys_disabled_and_no_template_reads_a_key() -> None:
    assert checks.check_storage_is_keyless(INFRA) == []


def test_each_event_function_is_subscribed_to_exactly_the_event_types_its_router_acts_on() -> None:
    assert checks.check_event_types(INFRA, code_facts.accepted_event_types(), code_facts.event_functions()) == []


def test_the_resource_events_are_filtered_to_the_workspaces_online_endpoints() -> None:
    assert checks.check_resource_subject_filter(INFRA) == []


def test_every_function_the_templates_subscribe_exists_in_the_indexed_app() -> None:
    assert checks.check_subscribed_functions(INFRA, code_facts.indexed_functions()) == []


def test_the_custom_roles_grant_exactly_the_azure_ml_actions_the_adapters_need_and_no_wildcard() -> None:
    assert checks.check_custom_roles(INFRA) == []


def test_every_other_need_is_met_by_a_built_in_role_assigned_at_its_scope() -> None:
    assert checks.check_built_in_roles(INFRA) == []


def test_the_router_facts_the_checks_rely_on_are_found_in_the_code() -> None:
    """Guards the guards: if shared/events.py changed shape so that no event type were found, the event check
    would compare nothing with nothing."""
    routed, routers = code_facts.accepted_event_types(), code_facts.event_functions()
    assert routers == {"on_ml_event": "route_ml_event", "on_resource_event": "route_resource_event"}
    assert "Microsoft.MachineLearningServices.ModelRegistered" in routed["route_ml_event"]
    assert "Microsoft.MachineLearningServices.ModelDeployed" not in routed["route_ml_event"]  # only ignored
    assert routed["route_resource_event"] == {"Microsoft.Resources.ResourceWriteSuccess",
                                              "Microsoft.Resources.ResourceDeleteSuccess"}


def test_the_sample_parameters_name_only_parameters_main_declares() -> None:
    import json

    from tests.infra.bicep import templates

    declared = set(templates(INFRA)["main.bicep"].parameters())
    sample = json.loads((INFRA / "main.parameters.sample.json").read_text())["parameters"]
    assert set(sample) <= declared
    assert {"appName", "workspaceName"} <= set(sample)  # the parameters without a default
