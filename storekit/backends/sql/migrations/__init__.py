"""Alembic migrations of the storekit SQL backend (shipped as package data)."""
