"""Shared fixtures: the real DfE files from ../shared/dfe when present, hand-made fixtures always."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "dfe"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

needs_shared = pytest.mark.skipif(not SHARED.exists(), reason="real DfE files not present: ../shared/dfe is missing")


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.exists():
        pytest.skip("real DfE files not present: ../shared/dfe is missing")
    return SHARED


@pytest.fixture(scope="session")
def real_db(shared, tmp_path_factory) -> Path:
    """csww.db built from the 2025 and 2024 indicator files, the 2019-2022 role-by-ethnicity file and the 2015-2016
    SFR files (the issue's command)."""
    from benchmark.build import build

    out = tmp_path_factory.mktemp("real")
    build([shared / "csww_indicators_2017_to_2025.csv", shared / "csww_indicators_2017_to_2024.csv",
           shared / "csww_workforce_role_by_ethnicity_2019_to_2022.csv", shared / "sfr"], out)
    return out / "csww.db"


@pytest.fixture(scope="session")
def whole_build(shared, tmp_path_factory):
    """``csww build --from ../shared/dfe``: every file in the folder (all releases, the breakdown files, lookups
    skipped). Returns the build report; its database is ``report.database``. Shared so that the suite builds the
    whole folder once per worker."""
    from benchmark.build import build

    return build([shared], tmp_path_factory.mktemp("whole"))


def one(db: Path, sql: str, *params):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchone()


def value(db: Path, year: int, area: str, measure: str, table: str = "observations"):
    return one(db, f"select value, symbol from {table} where time_period=? and area_code=? and measure_id=?",
               year, area, measure)


@pytest.fixture(scope="session")
def mini_db(tmp_path_factory) -> Path:
    """csww.db built from the hand-made fixture (8 councils, 3 regions, 2022-2024; no ../shared needed)."""
    from benchmark.build import build

    out = tmp_path_factory.mktemp("mini")
    build([FIXTURES / "indicators_mini.csv"], out)
    return out / "csww.db"


@pytest.fixture(scope="session")
def mini_neighbours():
    import pandas as pd

    return pd.read_csv(FIXTURES / "neighbours_mini.csv", dtype=str).astype({"position": int})
