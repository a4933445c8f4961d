"""Write detectors back into a model: IfcSensor (PredefinedType GASSENSOR) in a copy of an IFC file.

Used by ``drilltwin sensors optimize --write-ifc OUT.ifc``. The new sensors carry the same property sets
as :mod:`twin.ifc_build` writes (``DrillTwin_Sensor`` {Kind, Gas, Setpoints, T90, Noise, Period}), are
contained in the storey of their space, placed at their position (world metres) and get a small box body,
so :func:`twin.ifc.read_ifc` (and any IFC viewer) finds them where they were chosen. A site sketch is
first converted to IFC4 with :func:`twin.ifc_build.build_ifc`. The file is written to a temporary name
in the target folder and renamed, so a failed write leaves no half file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import InputError
from .site import Sensor

__all__ = ["write_sensors_ifc"]


def _storey_entity(f, storey_id: str | None, z: float):
    """The IfcBuildingStorey with GlobalId ``storey_id``, else the one whose elevation is closest below z."""
    storeys = f.by_type("IfcBuildingStorey")
    if not storeys:
        raise InputError("the model has no IfcBuildingStorey to hold the new sensors")
    for s in storeys:
        if s.GlobalId == storey_id:
            return s
    below = [s for s in storeys if (s.Elevation or 0.0) <= z + 1e-6]
    return max(below or storeys, key=lambda s: s.Elevation or 0.0)


def write_sensors_ifc(model_path: str | os.PathLike, out_path: str | os.PathLike, sensors: Sequence[Sensor]) -> Path:
    """Copy ``model_path`` (IFC or site sketch) to ``out_path`` with ``sensors`` added as IfcSensor.

    Positions are world metres (z absolute). Raises :class:`InputError` when a sensor's name is already
    used by an IfcSensor of the model, or the model cannot be read.
    """
    import ifcopenshell
    import ifcopenshell.api.geometry
    import ifcopenshell.api.pset
    import ifcopenshell.api.root
    import ifcopenshell.api.spatial
    import ifcopenshell.guid

    src = Path(model_path)
    out = Path(out_path)
    if out.suffix.lower() != ".ifc":
        raise InputError("expected an output path ending in .ifc", where="--write-ifc")
    tmp_dir = None
    if src.suffix.lower() in (".yaml", ".yml"):
        from .ifc_build import build_ifc
        from .sketch import read_sketch

        tmp_dir = tempfile.TemporaryDirectory()
        built = Path(tmp_dir.name) / "model.ifc"
        build_ifc(read_sketch(src), built)
        src = built
    try:
        f = ifcopenshell.open(str(src))
    except Exception as e:  # ifcopenshell raises plain errors for unreadable files
        raise InputError(f"cannot read the model ({e})", source=str(model_path)) from None
    taken = {s.Name for s in f.by_type("IfcSensor")}
    # the geometric context of bodies (as twin.ifc_build makes it)
    ctx = next((c for c in f.by_type("IfcGeometricRepresentationSubContext") if c.ContextIdentifier == "Body"), None)
    if ctx is None:
        ctx = next(iter(f.by_type("IfcGeometricRepresentationContext")), None)
    for s in sensors:
        if s.name in taken:
            raise InputError(f"the model already has a sensor named {s.name!r}", where="--write-ifc")
        taken.add(s.name)
        ent = ifcopenshell.api.root.create_entity(f, ifc_class="IfcSensor", name=s.name, predefined_type="GASSENSOR")
        ent.GlobalId = s.id if s.id and len(s.id) == 22 else ifcopenshell.guid.new()
        storey = _storey_entity(f, s.storey, float(s.position[2]))
        ifcopenshell.api.spatial.assign_container(f, products=[ent], relating_structure=storey)
        m = np.identity(4)
        m[:3, 3] = [float(v) for v in s.position]
        ifcopenshell.api.geometry.edit_object_placement(f, product=ent, matrix=m)
        if ctx is not None:
            # a 0.15 m box centred on the head, as twin.ifc_build draws sensors
            prof = f.createIfcRectangleProfileDef("AREA", None, None, 0.15, 0.15)
            axis = f.createIfcAxis2Placement3D(f.createIfcCartesianPoint((0.0, 0.0, -0.075)), None, None)
            solid = f.createIfcExtrudedAreaSolid(prof, axis, f.createIfcDirection((0.0, 0.0, 1.0)), 0.15)
            rep = f.createIfcShapeRepresentation(ctx, "Body", "SweptSolid", [solid])
            ifcopenshell.api.geometry.assign_representation(f, product=ent, representation=rep)
        props = {"Kind": "gas", "Gas": s.gas,
                 "Setpoints": ";".join(str(c) for c in s.setpoints) or None,
                 "T90": None if s.t90 is None else float(s.t90),
                 "Noise": str(s.noise) if s.noise is not None else None,
                 "Period": None if s.period is None else float(s.period)}
        props = {k: v for k, v in props.items() if v is not None}
        pset = ifcopenshell.api.pset.add_pset(f, product=ent, name="DrillTwin_Sensor")
        ifcopenshell.api.pset.edit_pset(f, pset=pset, properties=props)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.stem}.", suffix=".ifc")
    os.close(fd)
    try:
        f.write(tmp)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        if tmp_dir is not None:
            tmp_dir.cleanup()
    return out
