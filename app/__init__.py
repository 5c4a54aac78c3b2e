"""Bridgewatch: a desktop monitor for 1Password SCIM bridges."""

# A constant instead of importlib.metadata, which costs about 30 ms at every start. It must equal
# [project] version in pyproject.toml (packaging reads that one), and tests/test_version.py checks it.
__version__ = "0.1.0"

__all__ = ["__version__"]
