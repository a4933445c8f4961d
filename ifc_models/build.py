"""Rebuild the sample sites: regenerate ``office5.site.yaml`` and write ``NAME.ifc`` for every
``NAME.site.yaml`` in this folder.

Run from the repository root: ``python ifc_models/build.py``. The IFC headers carry a fixed time stamp so
that rebuilding unchanged sketches leaves the committed files byte for byte the same.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run as a script from a checkout, installed or not

from twin.ifc_build import build_ifc  # noqa: E402
from twin.sketch import read_sketch  # noqa: E402

STAMP = "2026-01-01T00:00:00"


def build_samples(folder: Path = HERE) -> list[Path]:
    """Write the IFC of every sketch in ``folder``; return the paths written."""
    if folder == HERE:
        import make_office  # the generator lives beside this script

        make_office.write()
    out = []
    for sketch in sorted(folder.glob("*.site.yaml")):
        target = sketch.with_name(sketch.name.removesuffix(".site.yaml") + ".ifc")
        build_ifc(read_sketch(sketch), target, timestamp=STAMP)
        out.append(target)
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    for path in build_samples():
        print(f"{path.relative_to(HERE.parent)}  {path.stat().st_size / 1e6:.2f} MB")
