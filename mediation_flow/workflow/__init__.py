"""Workflows as data: the file schema, the loader and the shared state machines."""
