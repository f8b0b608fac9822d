"""Developer tooling: process managers for the local stack (Azurite, emulator, devhost). Never deployed."""
