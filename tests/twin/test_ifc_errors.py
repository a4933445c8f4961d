"""Bad input to the IFC importer: every failure is an InputError that names the file, never a raw exception."""

from __future__ import annotations

from pathlib import Path

import ifcopenshell
import ifcopenshell.api.aggregate
import ifcopenshell.api.project
import ifcopenshell.api.root
import ifcopenshell.api.unit
import pytest

from tests.conftest import SHARED_IFC, needs_ifc
from twin.errors import InputError
from twin.ifc import read_ifc

IFC_DIR = SHARED_IFC
needs_shared = needs_ifc()


def _raises(path: Path, *words: str) -> InputError:
    with pytest.raises(InputError) as info:
        read_ifc(path)
    err = info.value
    assert err.source == str(path) and path.name in str(err)
    for w in words:
        assert w.lower() in str(err).lower(), str(err)
    return err


@needs_shared
@pytest.mark.parametrize("name", ["Jesse.1.ifc", "IfcOpenHouse_IFC4.ifc"])
def test_file_without_spaces(name: str) -> None:
    err = _raises(IFC_DIR / name, "IfcSpace", "spaces")
    assert "needed" in err.message


def test_missing_file(tmp_path: Path) -> None:
    _raises(tmp_path / "nowhere.ifc", "not found")


def test_folder(tmp_path: Path) -> None:
    folder = tmp_path / "model.ifc"
    folder.mkdir()
    _raises(folder, "not a file")


@pytest.mark.parametrize(
    "content",
    [b"Hello, this is a text file\nnot a model\n", b"", b"\x89PNG\r\n\x1a\n\x00\x00binary"],
    ids=["text", "empty", "binary"],
)
def test_not_an_ifc_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.ifc"
    path.write_bytes(content)
    _raises(path, "not an IFC file")


@needs_shared
def test_truncated_file(tmp_path: Path) -> None:
    data = (IFC_DIR / "AC20-FZK-Haus.ifc").read_bytes()
    path = tmp_path / "half.ifc"
    path.write_bytes(data[: len(data) // 2])
    _raises(path, "truncated")


@needs_shared
def test_truncated_file_with_trailer_restored(tmp_path: Path) -> None:
    """Cut in half but closed properly: the dangling references are parse errors, so it is corrupt."""
    data = (IFC_DIR / "AC20-FZK-Haus.ifc").read_bytes()
    half = data[: data.rfind(b"\n", 0, len(data) // 2)]
    path = tmp_path / "half_closed.ifc"
    path.write_bytes(half + b"\nENDSEC;\nEND-ISO-10303-21;\n")
    _raises(path, "corrupt", "parse error")


@needs_shared
def test_garbage_line_in_the_middle(tmp_path: Path) -> None:
    data = (IFC_DIR / "TNO-IfcEngine-example.ifc").read_bytes()
    cut = data.index(b"\n#", len(data) // 2) + 1
    path = tmp_path / "garbled.ifc"
    path.write_bytes(data[:cut] + b"#999999=IFCWALL('x',,,((;\n" + data[cut:])
    _raises(path, "corrupt")


def test_header_only(tmp_path: Path) -> None:
    path = tmp_path / "header.ifc"
    path.write_text("ISO-10303-21;\nHEADER;\nENDSEC;\nEND-ISO-10303-21;\n")
    _raises(path)


def _model(schema: str = "IFC4"):
    f = ifcopenshell.api.project.create_file(version=schema)
    project = ifcopenshell.api.root.create_entity(f, ifc_class="IfcProject", name="Empty")
    ifcopenshell.api.unit.assign_unit(f, units=[ifcopenshell.api.unit.add_si_unit(f, unit_type="LENGTHUNIT")])
    site = ifcopenshell.api.root.create_entity(f, ifc_class="IfcSite", name="Site")
    ifcopenshell.api.aggregate.assign_object(f, products=[site], relating_object=project)
    building = ifcopenshell.api.root.create_entity(f, ifc_class="IfcBuilding", name="B")
    ifcopenshell.api.aggregate.assign_object(f, products=[building], relating_object=site)
    return f, building


def test_valid_model_without_spaces(tmp_path: Path) -> None:
    f, _ = _model()
    path = tmp_path / "empty.ifc"
    f.write(str(path))
    _raises(path, "no IfcSpace")


def test_spaces_without_geometry(tmp_path: Path) -> None:
    f, building = _model()
    storey = ifcopenshell.api.root.create_entity(f, ifc_class="IfcBuildingStorey", name="G")
    ifcopenshell.api.aggregate.assign_object(f, products=[storey], relating_object=building)
    sp = ifcopenshell.api.root.create_entity(f, ifc_class="IfcSpace", name="Room")
    ifcopenshell.api.aggregate.assign_object(f, products=[sp], relating_object=storey)
    path = tmp_path / "nogeo.ifc"
    f.write(str(path))
    err = _raises(path, "IfcSpace", "geometry")
    assert "1 IfcSpace" in err.message


def test_error_is_a_value_error(tmp_path: Path) -> None:
    """The CLI maps InputError (a ValueError) to exit code 1 with one line on stderr."""
    path = tmp_path / "x.ifc"
    path.write_text("nothing")
    with pytest.raises(ValueError, match="x.ifc"):
        read_ifc(str(path))


@needs_shared
def test_corrupt_file_detected_with_json_log_format(tmp_path: Path) -> None:
    """ifcopenshell.validate switches the native log to JSON for the whole process; still detected."""
    data = (IFC_DIR / "TNO-IfcEngine-example.ifc").read_bytes()
    cut = data.index(b"\n#", len(data) // 2) + 1
    path = tmp_path / "garbled.ifc"
    path.write_bytes(data[:cut] + b"#999999=IFCWALL('x',,,((;\n" + data[cut:])
    wrapper = ifcopenshell.ifcopenshell_wrapper
    wrapper.set_log_format_json()
    try:
        _raises(path, "corrupt")
    finally:
        wrapper.set_log_format_text()
