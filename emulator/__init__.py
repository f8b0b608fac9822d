"""Local stand-in for the Azure services modelwatch calls: Azure ML (ARM), Azure Monitor metrics,
Cost Management, Event Grid delivery and model data collection into Azurite, driven by a scenario file.

It serves the same REST shapes as Azure so the real SDK clients (built by shared/adapters/azure_clients.py) run
against it unchanged, the way Azurite stands in for Storage. It is a development and test tool only:
nothing in the function app imports it, and it is never deployed. Start it with `python -m emulator`.
"""
