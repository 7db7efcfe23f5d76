"""The test suite, a package so that its helpers are imported by name like any module
(`from tests.support.api import Api`, `from harness.pgschema import throwaway_schema`):
pytest puts the folder above the outermost package, the repository's root, on the path."""
