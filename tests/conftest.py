"""The suite tests real networks against the shared benchmark data: without it, stop with one
message instead of hundreds of failures."""

import pytest

from cgnas.data.paths import ENV_VAR, SOURCES, data_dir


def pytest_sessionstart(session: pytest.Session) -> None:
    missing = [f for f in SOURCES if not (data_dir() / f).is_file()]
    if missing:
        pytest.exit(f"the tests need the shared benchmark data; {len(missing)} of its files are not in "
                    f"{data_dir()} (first: {missing[0]}). Put the data at ../shared/data beside the "
                    f"repository or point ${ENV_VAR} at it.", returncode=2)
