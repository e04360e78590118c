"""Principals, workspaces, memberships and bearer tokens (spec/08-errors.md ERR-3 to ERR-8)."""
