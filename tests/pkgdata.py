"""Load the hand-made tables in tests/fixtures/package/ into a csww.db with the store's own schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd

from benchmark import measures, store

DATA = Path(__file__).resolve().parent / "fixtures" / "package"


def _csv(name: str) -> pd.DataFrame:
    # Text throughout; SQLite's column affinity types the numbers as the store's schema says.
    df = pd.read_csv(DATA / f"{name}.csv", dtype=str, keep_default_na=False)
    return df.astype(object).where(df != "", None)


def make_db(folder: Path, releases: tuple[str, ...] = ("2024", "2025")) -> Path:
    """``folder/csww.db`` from the fixture tables. With releases=("2024",), only what the 2024 release said."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "csww.db"
    db.unlink(missing_ok=True)
    obs = _csv("observations")
    old = _csv("revisions_2024")
    revisions = pd.concat([obs, old], ignore_index=True)
    revisions = revisions[revisions.release_id.isin(releases)]
    if releases == ("2024",):
        # the 2024 release alone: its own values, and nothing for 2025
        latest = old
    else:
        latest = obs
    rel = _csv("releases")
    rel = rel[rel.release_id.isin(releases)]
    files = _csv("source_files")
    files = files[files.release_id.isin(releases)]
    conn = sqlite3.connect(db)
    try:
        store.create(conn)
        store.insert_frame(conn, "build_info", pd.DataFrame({"key": ["toolkit_version", "years"],
                                                             "value": ["test", "2024-2025"]}))
        store.insert_frame(conn, "releases", rel)
        store.insert_frame(conn, "source_files", files)
        store.insert_frame(conn, "measures", pd.DataFrame([{
            "measure_id": m.id, "label": m.label, "unit": m.unit, "polarity": m.polarity,
            "definition": " ".join(m.definition.split()), "numerator": m.numerator, "denominator": m.denominator,
            "decimals": m.decimals, "measure_group": m.group, "key_measure": int(m.key)}
            for m in measures.catalogue().values()]))
        store.insert_frame(conn, "areas", _csv("areas"))
        store.insert_frame(conn, "area_codes", _csv("area_codes"))
        store.insert_frame(conn, "observations", latest)
        store.insert_frame(conn, "observation_revisions", revisions)
        conn.commit()
        assert not conn.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        conn.close()
    return db
