"""host.json values can be overridden by AzureFunctionsJobHost__ app settings, as in the real host."""

from pathlib import Path

from devhost.settings import apply_host_json_overrides, build_config

HOST_JSON = {"version": "2.0", "extensions": {"queues": {"visibilityTimeout": "00:00:10", "maxDequeueCount": 5}}}


def test_nested_setting_overrides_host_json_case_insensitively() -> None:
    setting = "AzureFunctionsJobHost__Extensions__Queues__VisibilityTimeout"
    out = apply_host_json_overrides(HOST_JSON, {setting: "00:00:00"})
    assert out["extensions"]["queues"]["visibilityTimeout"] == "00:00:00"
    assert out["extensions"]["queues"]["maxDequeueCount"] == 5


def test_override_creates_missing_sections() -> None:
    out = apply_host_json_overrides({"version": "2.0"}, {"AzureFunctionsJobHost__extensions__http__routePrefix": "x"})
    assert out["extensions"]["http"]["routePrefix"] == "x"


def test_overrides_reach_the_queue_options(tmp_path: Path) -> None:
    setting = "AzureFunctionsJobHost__extensions__queues__visibilityTimeout"
    config = build_config(tmp_path, HOST_JSON, {setting: "00:00:01"})
    assert config.queues.visibility_timeout == 1.0


def test_other_settings_leave_host_json_alone() -> None:
    assert apply_host_json_overrides(HOST_JSON, {"PATH": "/bin"}) == HOST_JSON
