"""Other libraries' private names, one module per library, so an upgrade breaks in one place.

Each module names the version range it was written for (pyproject.toml's); `tests/adapters/` checks that the upstream
behaviour it relies on is still there, and fails naming the library, the name and this module.
Subclasses that override a library's hooks (`core.db.sqlite_client`, the migration editors)
keep those overrides, and the tortoise adapter's test checks the hooks still exist.
"""
