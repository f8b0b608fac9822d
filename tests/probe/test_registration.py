"""The function app serves both routes, behind function keys, as the Functions host indexes it."""

from __future__ import annotations

import azure.functions as func


def test_the_app_registers_the_endpoints_view_and_the_probe_with_function_keys() -> None:
    import function_app

    triggers = {f.get_function_name(): f.get_trigger() for f in function_app.app.get_functions()}
    routes = {name: (t.route, [str(getattr(m, "value", m)) for m in t.methods], t.auth_level)
              for name, t in triggers.items() if name.startswith("endpoints_")}
    assert routes == {
        "endpoints_list": ("endpoints", ["GET"], func.AuthLevel.FUNCTION),
        "endpoints_probe": ("endpoints/{endpoint}/probe", ["POST"], func.AuthLevel.FUNCTION),
    }
