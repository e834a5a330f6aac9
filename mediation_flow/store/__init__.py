"""Persistence: tables, connections, migrations, backup, settings and the clock."""
