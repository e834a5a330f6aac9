"""The web front end and JSON API: thin routes that call mediation_flow and render."""
