"""Build the wheel and show that it carries the offline snapshot (issue 15, item 5), with its size.

    python perf/snapshot_wheel.py

Builds with ``pip wheel . --no-deps --no-build-isolation`` (needs setuptools and wheel) into a temporary folder, lists the wheel's
``benchmark/snapshot/`` files with their sizes, checks they are byte for byte the repository's, and prints the
snapshot's share of the wheel. Exit status 1 when a snapshot file is missing from the wheel.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                        "-q", "-w", tmp], check=True)
        wheel = next(Path(tmp).glob("csww_benchmark-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            infos = {i.filename: i for i in z.infolist()}
            want = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "benchmark" / "snapshot").iterdir()
                          if p.suffix in (".zip", ".json", ".py"))
            missing = [w for w in want if w not in infos]
            for w in want:
                if w in infos:
                    same = z.read(w) == (ROOT / w).read_bytes()
                    print(f"{w:45} {infos[w].file_size:>9,} bytes  {'identical' if same else 'DIFFERENT'}")
            snap = sum(infos[w].compress_size for w in want if w in infos)
            size = wheel.stat().st_size
        print(f"{wheel.name}: {size:,} bytes, of which the snapshot {snap:,} ({snap / size:.0%})")
    if missing:
        print("missing from the wheel: " + ", ".join(missing))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
