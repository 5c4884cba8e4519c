"""Hypothesis profiles, loaded as a pytest plugin (see addopts in pyproject.toml). On a
developer's machine every run explores new examples and keeps the failures it finds in
.hypothesis/; in CI (the CI environment variable set) the examples are derived from each test,
so a submission passes or fails the same way every time."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev")
settings.load_profile("ci" if os.environ.get("CI") else "dev")
