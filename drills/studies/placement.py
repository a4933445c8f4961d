"""Leak ensembles of a scenario and what ``drilltwin sensors evaluate|optimize`` make of them.

:func:`build_ensemble` turns a scenario (its ``placement:`` block, or else every equipment item at the
scenario's leak rate in its weather) into the detection-time matrix of :mod:`twin.placement`:

* **dispersion only**, no people: one :class:`twin.dispersion.Multizone` per ventilation case gives the
  transport matrix; :func:`twin.placement.unit_responses` answers a 1 kg/s release in every zone at once,
  and every leak of the ensemble is a scaled column of that answer (the model is linear in the rate).
  Indoor releases do not depend on the weather in this model (no wind pressures on the building), so
  weather cases only change outdoor releases, which run as a unit-rate :class:`twin.plume.PuffTrain`
  (read at outdoor candidates, and fed to the building through the exterior openings). Indoor leaks are
  not followed outdoors: an outdoor candidate reads 0 for them (a stated limit).
* **candidates**: ``existing`` (the site's gas detectors of the gas plus the scenario's ``sensors:``),
  ``grid:SPACING`` (a square lattice per space at the placement height, inside the footprints, offset half
  a spacing from the corner), or a FILE (YAML list of ``{name?, space?, at: [x, y, z]}`` with z above the
  floor, or CSV ``name,x,y,z[,space]``); a position outside every space is an outdoor candidate.
* **geographic coverage** (ISA TR84.00.07): a release of the smallest ensemble rate in every air zone of
  the monitored spaces, in every ventilation case; the share of floor area where the layout detects it.

Scenario times count from the start of each release.
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.errors import InputError
from twin.yamlio import read_yaml

if TYPE_CHECKING:
    from drills.spec.scenario import Scenario
    from twin.graph import SiteGraph
    from twin.site import Sensor

__all__ = ["Candidate", "Ensemble", "LeakCase", "build_ensemble", "evaluate", "optimize", "write_sensors_yaml"]


@dataclass
class Candidate:
    """A detector position: ``position`` world m (z absolute), ``space``/``storey`` ids (None outdoors),
    ``col`` the response column it reads, ``existing`` for a detector already in the model or scenario."""

    name: str
    position: tuple[float, float, float]
    space: str | None
    storey: str | None
    col: int
    physics: Any
    existing: bool = False
    sensor: Sensor | None = None


@dataclass
class LeakCase:
    """One scenario of the ensemble: ``source`` equipment name in ``space`` (id, None outdoors), ``rate``
    kg/s, weather and ventilation case indices, ``src`` the response source index."""

    name: str
    source: str
    space: str | None
    storey: str | None
    rate: float
    weather: int
    ventilation: int
    src: int


@dataclass
class Ensemble:
    """The ensemble and its detection-time matrices (s after the release; inf = never).

    ``D``: scenario x candidate. ``G``: geographic release x candidate, with ``geo_zone`` (zone id) and
    ``geo_area`` (m2 weight: the zone's area shared among the ventilation cases) per row."""

    scenario: Scenario
    graph: SiteGraph
    gas: Any
    cases: list[LeakCase]
    candidates: list[Candidate]
    D: np.ndarray
    G: np.ndarray
    geo_zone: list[str]
    geo_area: np.ndarray
    horizon: float
    penalty: float
    time_limit: float
    voting: int
    candidates_spec: str
    timing: dict[str, float] = field(default_factory=dict)

    def names(self, idx) -> list[str]:
        return [self.candidates[i].name for i in idx]


# ------------------------------------------------------------------------------------------ building
def _progress(enabled: bool):
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}", markup=False), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), console=Console(stderr=True), transient=True, disable=not enabled)


def _err(sc: Scenario, msg: str, where: str) -> InputError:
    line = sc.line_of(where) if hasattr(sc, "line_of") else None
    return InputError(msg, source=str(sc.path or "<scenario>"), where=f"line {line}: {where}" if line else where)


def _placement(sc: Scenario):
    from drills.spec.scenario import PlacementSpec

    return sc.placement or PlacementSpec()


def _resolve_gas(sc: Scenario):
    from twin.gas import get_gas

    pl = _placement(sc)
    name = pl.gas or (sc.hazards[0].gas if sc.hazards else None)
    where = "placement.gas" if pl.gas else "hazards[0].gas"
    if name is None:
        raise _err(sc, "no gas to place detectors for: give placement.gas or a gas_leak hazard", "placement.gas")
    try:
        return get_gas(name)
    except InputError as e:
        raise _err(sc, e.message, where) from None


def _rates(sc: Scenario) -> list[float]:
    pl = _placement(sc)
    if pl.rates:
        return [float(r) for r in pl.rates]
    if not sc.hazards or (sc.hazards[0].rate is None and sc.hazards[0].release is None):
        raise _err(sc, "no release rate: give placement.rates or a hazard with a rate", "placement.rates")
    r = sc.hazards[0].rate_value()
    # a rate curve: its peak is the design rate of the leak
    return [float(r) if not isinstance(r, tuple) else float(max(r[1]))]


def _horizon(sc: Scenario) -> float:
    pl = _placement(sc)
    if pl.horizon:
        return float(pl.horizon)
    start = min((h.start for h in sc.hazards), default=0.0)
    return float(sc.duration - start) if sc.duration > start else float(sc.duration)


def _monitored_spaces(sc: Scenario, g: SiteGraph) -> list[str]:
    pl = _placement(sc)
    site = g.site
    walkable = [s for s in site.spaces if s in g.space_zones]
    if not pl.spaces:
        return walkable
    out: list[str] = []
    for k, name in enumerate(pl.spaces):
        where = f"placement.spaces[{k}]"
        if name.startswith("storey:"):
            sname = name[len("storey:"):]
            ids = [st.id for st in site.storeys if st.name == sname or st.id == sname]
            if not ids:
                raise _err(sc, f"no storey named {sname!r}; storeys: "
                           f"{', '.join(sorted({st.name for st in site.storeys}))}", where)
            out += [s for s in walkable if site.spaces[s].storey in ids]
        else:
            try:
                out.append(site.find("spaces", name, field_name=where))
            except InputError as e:
                raise _err(sc, e.message, where) from None
    return sorted(set(out), key=out.index)


def _new_detector_sensor(sc: Scenario, gas, existing: list[Sensor]) -> dict[str, Any]:
    """Sensor fields of a new candidate: placement.detector, else those of the first existing detector
    of the gas, else the defaults of :mod:`twin.sensors`."""
    pl = _placement(sc)
    if pl.detector is not None:
        return dict(pl.detector)
    for s in existing:
        return {"setpoints": [str(c) for c in s.setpoints], "t90": s.t90,
                "noise": str(s.noise) if s.noise is not None else None, "period": s.period,
                "extra": dict(s.extra)}
    return {}


def _physics(sensor: Sensor, gas, where: str):
    """:class:`twin.placement.DetectorPhysics` of a gas detector (its set point, lag, noise, sampling)."""
    from twin.gas import kgm3_to_lel, kgm3_to_ppm
    from twin.placement import DetectorPhysics
    from twin.sensors import resolve_spec, spec_from_sensor

    try:
        spec = resolve_spec(spec_from_sensor(sensor))
    except InputError as e:
        raise InputError(e.message, where=f"{where} ({e.where})" if e.where else where) from None
    if not spec.setpoints:
        raise InputError(f"detector {sensor.name!r} has no set point, so it never alarms", where=where)
    if spec.unit == "ppm":
        per = float(kgm3_to_ppm(1.0, gas))
    elif gas.flammable:
        per = float(kgm3_to_lel(1.0, gas))
    else:
        raise InputError(f"detector {sensor.name!r} reads %LEL but {gas.key} is not flammable", where=where)
    return DetectorPhysics(setpoint=float(spec.setpoints[0]), per_kgm3=per, t90=float(spec.t90),
                           noise=float(spec.noise), period=float(spec.period), resolution=float(spec.resolution),
                           full_scale=float(spec.full_scale))


def _sensor_from_fields(name: str, fields: dict[str, Any], gas, position, space, storey, where: str) -> Sensor:
    from pydantic import ValidationError

    from drills.spec.scenario import format_validation_error
    from twin.site import Sensor
    from twin.sketch import SensorIn, sketch_guid

    raw = {"name": name, "gas": gas.key, "space": "x", "at": [0, 0, 0]}
    raw.update({k: v for k, v in fields.items() if v is not None and k not in ("name", "space", "at", "gas")})
    try:
        spec = SensorIn.model_validate(raw)
    except ValidationError as e:
        w, msg = format_validation_error(e)
        raise InputError(msg, where=f"{where}.{w}") from None
    return Sensor(id=sketch_guid("sensor", "placement", name), name=name, kind="gas", position=position,
                  space=space, storey=storey, gas=gas.key, setpoints=list(spec.setpoints), t90=spec.t90,
                  noise=spec.noise, period=spec.period, extra=dict(spec.extra))


def _grid_points(g: SiteGraph, spaces: list[str], spacing: float, height: float) -> list[tuple[str, float, float, float]]:
    """(space id, x, y, z absolute) on a square lattice per space, inside its footprint."""
    from shapely import contains_xy

    out = []
    for sid in spaces:
        sp = g.site.spaces[sid]
        poly = sp.footprint
        x0, y0, x1, y1 = poly.bounds
        xs = np.arange(x0 + spacing / 2, x1, spacing)
        ys = np.arange(y0 + spacing / 2, y1, spacing)
        if xs.size == 0 or ys.size == 0:
            continue
        X, Y = np.meshgrid(xs, ys)
        X, Y = X.ravel(), Y.ravel()
        inside = contains_xy(poly, X, Y)
        if not inside.any():  # a space narrower than the spacing still gets one point
            c = poly.representative_point()
            X, Y, inside = np.array([c.x]), np.array([c.y]), np.array([True])
        z = sp.elevation + height
        out += [(sid, float(x), float(y), float(z)) for x, y in zip(X[inside], Y[inside], strict=True)]
    return out


def _file_positions(path: Path, g: SiteGraph) -> list[tuple[str, str | None, float, float, float]]:
    """(name, space id or None, x, y, z above the floor or ground) from a YAML or CSV candidate file."""

    src = str(path)
    if not path.exists():
        raise InputError("candidate file not found", source=src, where="--candidates")
    rows: list[dict[str, Any]] = []
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            for k, r in enumerate(csv.DictReader(fh)):
                try:
                    rows.append({"name": r.get("name") or None, "space": r.get("space") or None,
                                 "at": [float(r["x"]), float(r["y"]), float(r.get("z") or 1.5)]})
                except (KeyError, TypeError, ValueError):
                    raise InputError("expected columns name,x,y,z[,space] with numbers in metres",
                                     source=src, where=f"row {k + 2}") from None
    else:
        data, _ = read_yaml(path)
        if isinstance(data, dict):
            data = data.get("candidates", data.get("sensors"))
        if not isinstance(data, list):
            raise InputError("expected a list of {name?, space?, at: [x, y, z]}", source=src)
        for k, r in enumerate(data):
            if isinstance(r, list | tuple):
                r = {"at": list(r)}
            if not isinstance(r, dict) or not isinstance(r.get("at"), list) or len(r["at"]) not in (2, 3):
                raise InputError("expected {name?, space?, at: [x, y, z]} (m)", source=src, where=f"[{k}].at")
            rows.append(r)
    out = []
    site = g.site
    for k, r in enumerate(rows):
        try:
            x, y = float(r["at"][0]), float(r["at"][1])
            z = float(r["at"][2]) if len(r["at"]) == 3 else 1.5
        except (TypeError, ValueError):
            raise InputError("coordinates must be numbers (m)", source=src, where=f"[{k}].at") from None
        name = str(r.get("name") or f"F-{k + 1:03d}")
        if r.get("space") not in (None, "outdoors"):
            try:
                sid = site.find("spaces", str(r["space"]), field_name=f"[{k}].space")
            except InputError as e:
                raise InputError(e.message, source=src, where=e.where) from None
        elif r.get("space") == "outdoors":
            sid = None
        else:
            from shapely.geometry import Point

            hits = [s for s in site.spaces if s in g.space_zones and site.spaces[s].footprint.covers(Point(x, y))]
            if len(hits) > 1:
                names = ", ".join(site.spaces[s].name for s in hits)
                raise InputError(f"({x:g}, {y:g}) lies in several spaces ({names}); say which with space:",
                                 source=src, where=f"[{k}].space")
            sid = hits[0] if hits else None
        out.append((name, sid, x, y, z))
    return out


def _candidates(sc: Scenario, g: SiteGraph, gas, spec: str, outdoor_xyz: list, keep_existing: bool
                ) -> list[Candidate]:
    """The candidate detectors for ``spec`` (``existing``, ``grid:SPACING`` or a file); with
    ``keep_existing`` the existing ones are added to a grid or file set."""
    from drills.sim.hazards import scenario_sensors
    from twin.units import parse_quantity

    site = g.site
    existing = [s for s in site.sensors.values() if s.kind == "gas" and s.gas and _same_gas(s.gas, gas)]
    try:
        extra = scenario_sensors(sc.sensors, g)
    except InputError as e:
        raise InputError(e.message, source=str(sc.path or "<scenario>"), where=e.where) from None
    existing += [s for s in extra if s.kind == "gas" and s.gas and _same_gas(s.gas, gas)]
    zone_col = {z: i for i, z in enumerate(sorted(str(z) for z in g.zones))}

    def col_of(space: str | None, x: float, y: float, z: float) -> int:
        if space is not None and space in g.space_zones:
            return zone_col[g.zone_at(space, x, y)]
        outdoor_xyz.append((x, y, z))
        return len(zone_col) + len(outdoor_xyz) - 1

    out: list[Candidate] = []
    names: set[str] = set()

    def add_existing() -> None:
        for s in existing:
            ph = _physics(s, gas, f"sensors ({s.name})")
            out.append(Candidate(s.name, tuple(map(float, s.position)), s.space, s.storey,
                                 col_of(s.space, *s.position), ph, existing=True, sensor=s))
            names.add(s.name)

    spec = spec.strip()
    if spec == "existing":
        add_existing()
        if not out:
            raise InputError(f"the site has no {gas.key} detector: use --candidates grid:SPACING or a file",
                             where="--candidates")
        return out
    if keep_existing:
        add_existing()
    fields = _new_detector_sensor(sc, gas, existing)
    pl = _placement(sc)
    if spec.startswith("grid:"):
        try:
            spacing = parse_quantity(spec[len("grid:"):], "length", "--candidates")
        except ValueError as e:
            raise InputError(str(e), where="--candidates") from None
        if not spacing > 0:
            raise InputError(f"grid spacing must be positive, got {spec!r}", where="--candidates")
        height = pl.height if pl.height is not None else (0.5 if gas.relative_density > 1.0 else 1.5)
        pts = _grid_points(g, _monitored_spaces(sc, g), spacing, height)
        count: dict[str, int] = {}
        for sid, x, y, z in pts:
            sp = site.spaces[sid]
            count[sid] = count.get(sid, 0) + 1
            name = f"{sp.name}-{count[sid]:02d}"
            s = _sensor_from_fields(name, fields, gas, (x, y, z), sid, sp.storey, "placement.detector")
            out.append(Candidate(name, (x, y, z), sid, sp.storey, col_of(sid, x, y, z),
                                 _physics(s, gas, "placement.detector"), sensor=s))
    else:
        for name, sid, x, y, zr in _file_positions(Path(spec), g):
            if name in names:
                raise InputError(f"candidate name {name!r} is used twice", source=spec, where="name")
            names.add(name)
            storey = site.spaces[sid].storey if sid else None
            z = (site.spaces[sid].elevation if sid else 0.0) + zr
            s = _sensor_from_fields(name, fields, gas, (x, y, z), sid, storey, "placement.detector")
            out.append(Candidate(name, (x, y, z), sid, storey, col_of(sid, x, y, z),
                                 _physics(s, gas, "placement.detector"), sensor=s))
    if not out:
        raise InputError(f"no candidate positions from {spec!r}", where="--candidates")
    return out


def _same_gas(name: str, gas) -> bool:
    from twin.gas import get_gas

    try:
        return get_gas(name).key == gas.key
    except InputError:
        return False


def _sources(sc: Scenario, g: SiteGraph) -> list[tuple[str, str | None, tuple[float, float, float]]]:
    """(equipment name, space id or None for outdoors, position) of every leak source."""
    pl = _placement(sc)
    site = g.site
    points: list[tuple[str, str | None, tuple[float, float, float]]] = []
    if pl.sources:
        ids = []
        for k, src in enumerate(pl.sources):
            if not isinstance(src, str):  # a release point: in the space that contains it, else outdoors
                if src.name in {p[0] for p in points} or any(e.name == src.name for e in site.equipment.values()):
                    raise _err(sc, f"source name {src.name!r} is used twice", f"placement.sources[{k}].name")
                points.append((src.name, _space_at(g, src.at), (src.at[0], src.at[1], src.at[2])))
                continue
            try:
                ids.append(site.find("equipment", src, field_name=f"placement.sources[{k}]"))
            except InputError as e:
                try:  # a room as the leak source: released at its centre, 1 m above the floor
                    sid = site.find("spaces", src, field_name=f"placement.sources[{k}]")
                except InputError:
                    raise _err(sc, f"{e.message} (nor a space)", f"placement.sources[{k}]") from None
                if sid not in g.space_zones:
                    raise _err(sc, f"space {src!r} is not walkable", f"placement.sources[{k}]") from None
                sp = site.spaces[sid]
                c = sp.footprint.representative_point()
                points.append((src, sid, (float(c.x), float(c.y), float(sp.elevation) + 1.0)))
    else:
        ids = sorted(site.equipment, key=lambda i: site.equipment[i].name)
    if not ids and not points:
        raise _err(sc, "the site has no equipment to leak: list placement.sources", "placement.sources")
    out = []
    for i in ids:
        e = site.equipment[i]
        sp = e.space if e.space in g.space_zones else None
        out.append((e.name, sp, tuple(map(float, e.position))))
    return out + points


def _space_at(g: SiteGraph, xyz: list[float]) -> str | None:
    """The walkable space whose footprint holds (x, y) and whose floor-to-ceiling span holds z (m, world
    height), or None outdoors; of stacked spaces, the one whose floor is nearest below z."""
    from shapely.geometry import Point

    x, y, z = xyz
    pt = Point(x, y)
    hits = [s for s in g.space_zones if g.site.spaces[s].footprint.covers(pt)
            and g.site.spaces[s].elevation - 0.5 <= z <= g.site.spaces[s].elevation + g.site.spaces[s].height + 0.5]
    return max(hits, key=lambda s: (g.site.spaces[s].elevation, s)) if hits else None


def _weather_label(w) -> str:
    return f"{w.wind_speed:g}m/s-{w.wind_from:g}deg-{w.stability}"


def build_ensemble(sc: Scenario, candidates: str = "existing", *, time_limit: float | None = None,
                   keep_existing: bool = False, progress: bool = True) -> Ensemble:
    """The leak ensemble of ``sc`` and its detection-time matrices for the ``candidates`` (see module)."""
    from drills.spec.scenario import VentilationCase, WeatherSpec
    from twin.dispersion import Multizone
    from twin.load import load_twin
    from twin.placement import detection_matrix, lagged, unit_responses
    from twin.plume import PuffTrain, Weather

    t_all = time.perf_counter()
    timing: dict[str, float] = {}
    pl = _placement(sc)
    gas = _resolve_gas(sc)
    rates = _rates(sc)
    horizon = _horizon(sc)
    weathers = list(pl.weather or [sc.weather or WeatherSpec()])
    vents = list(pl.ventilation or [VentilationCase(name="design")])
    tl = float(pl.time_limit if time_limit is None else time_limit)
    if not tl > 0:
        raise InputError(f"time limit must be positive, got {tl:g} s", where="--time-limit")
    penalty = float(pl.undetected_penalty or horizon)
    dt = float(sc.gas_step)
    n_steps = int(math.ceil(horizon / dt - 1e-9))
    t0 = time.perf_counter()
    g = load_twin(sc.site_path())
    timing["load_s"] = time.perf_counter() - t0
    srcs = _sources(sc, g)
    outdoor_xyz: list[tuple[float, float, float]] = []
    cands = _candidates(sc, g, gas, candidates, outdoor_xyz, keep_existing)
    zones = sorted(str(z) for z in g.zones)
    Z, n_out = len(zones), len(outdoor_xyz)
    zone_col = {z: i for i, z in enumerate(zones)}
    out_srcs = [s for s in srcs if s[1] is None]
    n_src_v = Z + len(weathers) * len(out_srcs)  # source columns per ventilation case

    # --- dispersion: unit responses per ventilation case ------------------------------------------
    t0 = time.perf_counter()
    blocks = []
    with _progress(progress) as bar:
        task = bar.add_task("dispersion", total=len(vents) * (1 + len(weathers) * len(out_srcs)))
        for v in vents:
            mz = Multizone(g, dt=dt)
            if v.factor != 1.0:
                for z in zones:
                    mz.set_ach(z, float(mz.ach[mz.zone_index[z]]) * v.factor)
            K, V, _ = mz.ode_system()
            R = np.zeros((Z + n_out, n_src_v, n_steps + 1), dtype=np.float32)
            R[:Z, :Z] = unit_responses(K.tocsc(), V, dt, n_steps, list(range(Z)))
            bar.advance(task)
            for wi, ws in enumerate(weathers):
                w = Weather(ws.wind_speed, ws.wind_from, ws.stability, ws.terrain)
                for j, (_, _, pos) in enumerate(out_srcs):
                    col = Z + wi * len(out_srcs) + j
                    train = PuffTrain(pos[:2], w, height=max(pos[2], 0.0), rate=1.0, start=0.0)
                    m2 = Multizone(g, dt=dt)
                    if v.factor != 1.0:
                        for z in zones:
                            m2.set_ach(z, float(m2.ach[m2.zone_index[z]]) * v.factor)
                    from twin.plume import plume_hook

                    m2.outdoor_hook = plume_hook(train)
                    pts = np.array(outdoor_xyz) if n_out else None
                    for k in range(1, n_steps + 1):
                        m2.advance(k * dt)
                        R[:Z, col, k] = m2.c
                        if pts is not None:
                            R[Z:, col, k] = train.concentration(pts, k * dt)
                    bar.advance(task)
            blocks.append(R)
    R = np.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0]
    timing["dispersion_s"] = time.perf_counter() - t0

    # --- scenarios ---------------------------------------------------------------------------------
    cases: list[LeakCase] = []
    out_index = {s[0]: j for j, s in enumerate(out_srcs)}
    for name, sp, pos in srcs:
        storey = g.site.spaces[sp].storey if sp else None
        for r in rates:
            for wi, ws in enumerate(weathers):
                for vi, v in enumerate(vents):
                    if sp is not None:
                        src = vi * n_src_v + zone_col[g.zone_at(sp, pos[0], pos[1])]
                    else:
                        src = vi * n_src_v + Z + wi * len(out_srcs) + out_index[name]
                    label = f"{name} {r * 1000:g} g/s"
                    if len(weathers) > 1:
                        label += f" {_weather_label(ws)}"
                    if len(vents) > 1:
                        label += f" {v.name}"
                    cases.append(LeakCase(label, name, sp, storey, r, wi, vi, src))
    # geographic releases: every zone of the monitored spaces, smallest rate, each ventilation case
    monitored = set(_monitored_spaces(sc, g))
    geo_zone, geo_src, geo_area = [], [], []
    for vi in range(len(vents)):
        for z in zones:
            if g.zones[z].space in monitored:
                geo_zone.append(z)
                geo_src.append(vi * n_src_v + zone_col[z])
                geo_area.append(g.zones[z].area / len(vents))
    r_geo = min(rates)

    # --- detection times ---------------------------------------------------------------------------
    t0 = time.perf_counter()
    src_all = np.array([c.src for c in cases] + geo_src, dtype=np.int64)
    rate_all = np.array([c.rate for c in cases] + [r_geo] * len(geo_src))
    lag_cache: dict[float, np.ndarray] = {}
    for c in cands:
        key = c.physics.lag_key
        if key not in lag_cache:
            lag_cache[key] = lagged(R, c.physics.t90, dt)
    del R
    with _progress(progress) as bar:
        task = bar.add_task("detection times", total=len(cands))
        M = detection_matrix(lag_cache, dt, src_all, rate_all, np.array([c.col for c in cands]),
                             [c.physics for c in cands], [c.name for c in cands], sc.seed,
                             progress=lambda k: bar.update(task, completed=k))
    timing["detection_s"] = time.perf_counter() - t0
    timing["total_s"] = time.perf_counter() - t_all
    S = len(cases)
    return Ensemble(sc, g, gas, cases, cands, M[:S], M[S:], geo_zone, np.array(geo_area), horizon, penalty, tl,
                    int(pl.voting), candidates, timing)


# ------------------------------------------------------------------------------------------- metrics
def _building_name(site, st) -> str | None:
    for b in site.buildings or []:
        if b.id == st.building:
            return b.name
    return None


def _r(x: float | None, nd: int = 1) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), nd)


def layout_metrics(ens: Ensemble, chosen: list[int]) -> dict[str, Any]:
    """docs/cli.md metrics of a layout (candidate indices) plus per-space and per-storey tables."""
    from twin.placement import impact_objective, layout_times, scenario_coverage

    tl = ens.time_limit
    t1 = layout_times(ens.D, chosen, 1)
    t2 = layout_times(ens.D, chosen, 2)
    tk = layout_times(ens.D, chosen, ens.voting)
    g1 = layout_times(ens.G, chosen, 1)
    g2 = layout_times(ens.G, chosen, 2)
    area = ens.geo_area
    tot_area = float(area.sum())

    def geo(times: np.ndarray) -> float:
        return float(area[times <= tl].sum() / tot_area) if tot_area > 0 else 0.0

    seen = np.isfinite(tk)
    out: dict[str, Any] = {
        "scenarios": len(ens.cases),
        "detectors": len(chosen),
        "scenario_coverage": {"1": round(scenario_coverage(t1, tl), 4), "2": round(scenario_coverage(t2, tl), 4)},
        "geographic_coverage": round(geo(g1), 4),
        "mean_detect_s": _r(float(tk[seen].mean())) if seen.any() else None,
        "worst_detect_s": _r(float(tk[seen].max())) if seen.any() else None,
        "undetected": [c.name for c, t in zip(ens.cases, tk, strict=True) if not t <= tl],
        # extras
        "voting": ens.voting,
        "time_limit_s": tl,
        "horizon_s": ens.horizon,
        "undetected_penalty_s": ens.penalty,
        "expected_detect_s": _r(impact_objective(tk, ens.penalty)),
        "never_detected": [c.name for c, t in zip(ens.cases, tk, strict=True) if not np.isfinite(t)],
        "geographic_coverage_2": round(geo(g2), 4),
        "median_detect_s": _r(float(np.median(tk[seen]))) if seen.any() else None,
    }
    site = ens.graph.site
    det_space: dict[str | None, int] = {}
    for i in chosen:
        det_space[ens.candidates[i].space] = det_space.get(ens.candidates[i].space, 0) + 1
    zone_space = [ens.graph.zones[z].space for z in ens.geo_zone]
    rows_space, rows_storey = [], []

    def summary(mask_s: np.ndarray, mask_g: np.ndarray) -> dict[str, Any]:
        tt = tk[mask_s]
        a = area[mask_g]
        ok = np.isfinite(tt)
        return {
            "scenarios": int(mask_s.sum()),
            "covered": round(float((tt <= tl).mean()), 4) if tt.size else None,
            "mean_detect_s": _r(float(tt[ok].mean())) if ok.any() else None,
            "area_m2": round(float(a.sum()), 1),
            "geographic_coverage": round(float(a[g1[mask_g] <= tl].sum() / a.sum()), 4) if a.sum() > 0 else None,
        }

    case_space = np.array([c.space or "" for c in ens.cases])
    zs = np.array([s or "" for s in zone_space])
    for sid in sorted({*zone_space, *(c.space for c in ens.cases if c.space)}, key=lambda s: site.spaces[s].name):
        sp = site.spaces[sid]
        row = {"space": sp.name, "storey": site.storey(sp.storey).name if sp.storey else None,
               "detectors": det_space.get(sid, 0), **summary(case_space == sid, zs == sid)}
        rows_space.append(row)
    storey_of_case = np.array([c.storey or "" for c in ens.cases])
    storey_of_zone = np.array([site.spaces[s].storey or "" for s in zone_space]) if zone_space else np.array([])
    for st in site.storeys:
        ms, mg = storey_of_case == st.id, storey_of_zone == st.id
        if not ms.any() and not mg.any():
            continue
        b = _building_name(site, st)
        rows_storey.append({"storey": st.name, "building": b, "storey_id": st.id,
                            "detectors": sum(1 for i in chosen if ens.candidates[i].storey == st.id),
                            **summary(ms, mg)})
    out["per_space"] = rows_space
    out["per_storey"] = rows_storey
    return out


def evaluate(ens: Ensemble) -> dict[str, Any]:
    """``sensors evaluate``: the metrics of all candidates together as one layout."""
    res = layout_metrics(ens, list(range(len(ens.candidates))))
    res = {"scenario": ens.scenario.name, "gas": ens.gas.key, "candidates": ens.candidates_spec, **res,
           "detector_names": [c.name for c in ens.candidates],
           "timing": {k: round(v, 3) for k, v in ens.timing.items()}}
    return res


def optimize(ens: Ensemble, *, budget: int | None, target: float | None, method: str = "greedy",
             objective: str = "impact", keep_existing: bool = False, mip_time_limit: float = 120.0
             ) -> tuple[dict[str, Any], list[int]]:
    """``sensors optimize``: choose detectors (see :mod:`twin.placement`, :mod:`twin.placement_opt`).
    Returns the JSON payload and the chosen candidate indices."""
    from twin.placement import coverage_greedy, coverage_matrix, impact_greedy

    C = len(ens.candidates)
    fixed = [i for i, c in enumerate(ens.candidates) if c.existing] if keep_existing else []
    free = C - len(fixed)
    if method not in ("greedy", "mip"):
        raise InputError(f"method must be greedy or mip, got {method!r}", where="--method")
    if objective not in ("impact", "coverage"):
        raise InputError(f"objective must be impact or coverage, got {objective!r}", where="--objective")
    if (budget is None) == (target is None):
        raise InputError("give either --budget K or --target SHARE", where="--budget")
    if budget is not None:
        if budget < 1:
            raise InputError(f"budget must be at least 1, got {budget}", where="--budget")
        if budget > free:
            raise InputError(f"budget {budget} is larger than the {free} candidates to choose from "
                             f"({ens.candidates_spec!r}{', existing kept' if fixed else ''})", where="--budget")
    if target is not None and not 0.0 < target <= 1.0:
        raise InputError(f"coverage target {target * 100:g} % must be above 0 % and at most 100 %",
                         where="--target")
    if free == 0:
        raise InputError("every candidate is an existing detector kept fixed: nothing to choose; use "
                         "--candidates grid:SPACING or a file", where="--keep-existing")
    t0 = time.perf_counter()
    cover = coverage_matrix(ens.D, ens.time_limit)
    extra: dict[str, Any] = {}
    if target is not None:
        best = float(cover.any(axis=1).mean())
        if best < target - 1e-12:
            raise InputError(f"coverage target {target * 100:g} % is out of reach: all {C} candidates together "
                             f"detect {best * 100:.1f} % of the scenarios within {ens.time_limit:g} s",
                             where="--target")
        objective = "count"
    if method == "greedy":
        if objective == "impact":
            r = impact_greedy(ens.D, budget, ens.penalty, fixed=fixed)
        else:
            r = coverage_greedy(cover, budget=budget, target=target, fixed=fixed)
        chosen, obj, bound, gap = r.chosen, r.objective, r.bound, r.gap
        extra = {"greedy_objective": _r(r.greedy_objective, 4), "swaps": r.swaps,
                 "a_priori_bound": "(1-1/e) of the best reduction" if r.a_priori else "1+ln(max coverage)",
                 "evaluations": r.evaluations}
    else:
        from twin.placement_opt import coverage_mip, impact_mip

        if objective == "impact":
            m = impact_mip(ens.D, budget, ens.penalty, fixed=fixed, time_limit=mip_time_limit)
        else:
            m = coverage_mip(cover, budget=budget, target=target, fixed=fixed, time_limit=mip_time_limit)
        chosen, obj, bound, gap = m.chosen, m.objective, m.bound, m.gap
        extra = {"solver_status": m.status, "build_s": round(m.build_s, 3), "solve_s": round(m.solve_s, 3)}
    if objective == "count":
        obj_val: float = float(len(chosen) - len(fixed))
        bound_val = float(bound)
    else:
        obj_val, bound_val = float(obj), float(bound)
    wall = time.perf_counter() - t0
    metrics = layout_metrics(ens, chosen)
    new = [i for i in chosen if i not in set(fixed)]
    payload = {
        "chosen": [ens.candidates[i].name for i in new],
        "objective": round(obj_val, 4),
        "bound": round(bound_val, 4),
        "gap": round(float(gap), 6),
        "scenario_coverage": metrics.pop("scenario_coverage"),
        # extras
        "scenario": ens.scenario.name, "gas": ens.gas.key, "method": method, "objective_kind": objective,
        "objective_unit": {"impact": "s (expected detection time, undetected = penalty)",
                           "coverage": "share of scenarios detected within the time limit",
                           "count": "detectors added"}[objective],
        "kept": [ens.candidates[i].name for i in fixed],
        "positions": [{"name": ens.candidates[i].name, "at": [round(v, 3) for v in ens.candidates[i].position],
                       "space": ens.graph.site.spaces[ens.candidates[i].space].name
                       if ens.candidates[i].space else None} for i in new],
        "candidates": ens.candidates_spec, "n_candidates": C, "optimise_s": round(wall, 3), **extra,
        **metrics,
        "timing": {k: round(v, 3) for k, v in ens.timing.items()},
    }
    return payload, chosen


# ------------------------------------------------------------------------------------------ outputs
def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_sensors_yaml(ens: Ensemble, chosen: list[int], path: Path) -> Path:
    """The chosen new detectors as a scenario ``sensors:`` list (sketch sensor fields, ``at`` z above the
    floor), written atomically: paste it into a scenario or an experiment arm."""
    import yaml

    items = []
    site = ens.graph.site
    for i in chosen:
        c = ens.candidates[i]
        if c.existing or c.sensor is None or c.space is None:
            continue
        s = c.sensor
        z = c.position[2] - site.spaces[c.space].elevation
        item: dict[str, Any] = {"name": c.name, "gas": s.gas, "space": site.spaces[c.space].name,
                                "at": [round(c.position[0], 3), round(c.position[1], 3), round(z, 3)],
                                "setpoints": [str(x) for x in s.setpoints]}
        if s.t90 is not None:
            item["t90"] = f"{s.t90:g}s"
        if s.noise is not None:
            item["noise"] = str(s.noise)
        if s.period is not None:
            item["period"] = f"{s.period:g}s"
        items.append(item)
    _atomic_write(path, yaml.safe_dump({"sensors": items}, sort_keys=False, allow_unicode=True).encode())
    return path


def coverage_maps(ens: Ensemble, chosen: list[int], out_dir: Path, tag: str) -> list[str]:
    """One PNG per storey: zones coloured by the share of geographic releases detected within the time
    limit, chosen detectors, other candidates, leak sources (red where some leak goes undetected)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LinearSegmentedColormap

    from twin.placement import layout_times

    site = ens.graph.site
    g1 = layout_times(ens.G, chosen, 1)
    tk = layout_times(ens.D, chosen, ens.voting)
    share: dict[str, list[bool]] = {}
    for z, t in zip(ens.geo_zone, g1, strict=True):
        share.setdefault(z, []).append(bool(t <= ens.time_limit))
    missed = {c.source for c, t in zip(ens.cases, tk, strict=True) if not t <= ens.time_limit}
    cmap = LinearSegmentedColormap.from_list("cov", ["#d7301f", "#fdcc8a", "#31a354"])
    paths = []
    chosen_set = set(chosen)
    for st in site.storeys:
        sids = [s for s, sp in site.spaces.items() if sp.storey == st.id]
        if not sids:
            continue
        fig, ax = plt.subplots(figsize=(8, 6))
        for z, zone in ens.graph.zones.items():
            if zone.storey != st.id:
                continue
            poly = zone.polygon
            xs, ys = poly.exterior.xy
            if z in share:
                ax.fill(xs, ys, color=cmap(float(np.mean(share[z]))), alpha=0.8, lw=0)
            else:
                ax.fill(xs, ys, color="#eeeeee", lw=0)
        for s in sids:
            xs, ys = site.spaces[s].footprint.exterior.xy
            ax.plot(xs, ys, color="k", lw=0.8)
            c = site.spaces[s].footprint.representative_point()
            ax.text(c.x, c.y, site.spaces[s].name, fontsize=6, ha="center", va="center", alpha=0.7)
        pts = [(c, i in chosen_set) for i, c in enumerate(ens.candidates) if c.storey == st.id]
        if pts:
            other = np.array([c.position[:2] for c, ch in pts if not ch]).reshape(-1, 2)
            ch = np.array([c.position[:2] for c, ch in pts if ch]).reshape(-1, 2)
            ax.scatter(other[:, 0], other[:, 1], s=6, c="#888888", label="candidate")
            ax.scatter(ch[:, 0], ch[:, 1], s=40, c="#08306b", marker="s", label="detector")
        eq = [e for e in site.equipment.values() if e.storey == st.id]
        for e in eq:
            ax.scatter([e.position[0]], [e.position[1]], marker="^", s=60,
                       c="#a50f15" if e.name in missed else "#fe9929", edgecolors="k", linewidths=0.5)
            ax.annotate(e.name, e.position[:2], fontsize=6, xytext=(3, 3), textcoords="offset points")
        b = _building_name(site, st) or ""
        ax.set_title(f"{b} {st.name}: geographic coverage within {ens.time_limit:g} s "
                     f"(green = detected, red = missed)", fontsize=9)
        ax.set_aspect("equal")
        ax.set_xlabel("x (m)")
        ax.set_ylabel("y (m)")
        if ax.get_legend_handles_labels()[0]:  # a storey with no candidate has nothing to explain
            ax.legend(fontsize=7, loc="best")
        import io

        buf = io.BytesIO()
        fig.savefig(buf, dpi=110, bbox_inches="tight")
        plt.close(fig)
        slug = "".join(ch if ch.isalnum() else "_" for ch in f"{b}_{st.name}").strip("_")
        p = out_dir / f"{tag}_coverage_{slug}.png"
        _atomic_write(p, buf.getvalue())
        paths.append(str(p))
    return paths
