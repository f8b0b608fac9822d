"""Adapters: everything that talks to the outside world, one small module per thing it talks to.

Each adapter takes the client it wraps (an azure-ai-ml MLClient, a MetricsClient, a ContainerClient, ...) as
a constructor parameter and returns plain dataclasses, so the same code runs against Azure, the local
emulator and Azurite. Nothing here decides anything: decisions live in `monitors/` and are composed in
`shared.services`.
"""
