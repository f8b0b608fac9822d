"""host.json logs what Application Insights' requests table and the portal's success rate are built from."""

from __future__ import annotations

import json
from pathlib import Path

HOST = json.loads((Path(__file__).resolve().parents[2] / "host.json").read_text())
VERBOSE_ENOUGH = ("Trace", "Debug", "Information")  # Host.Results logs successful invocations at Information


def test_host_results_keeps_successful_invocations() -> None:
    assert HOST["logging"]["logLevel"]["Host.Results"] in VERBOSE_ENOUGH


def test_requests_are_not_sampled_away() -> None:
    assert "Request" in HOST["logging"]["applicationInsights"]["samplingSettings"]["excludedTypes"]
