"""The site as the alert lab sees it: gas detectors (specs, zones, positions), release points, and the
dispersion's unit responses at the detectors.

The multizone dispersion (:class:`twin.dispersion.Multizone`) is linear in the source rate, so the lab
computes once per release zone the concentration after a constant 1 kg/s release from t = 0 (the *step
response*, :func:`twin.placement.unit_responses`) and makes every leak of an ensemble from it by
convolution with the release profile (:mod:`drills.lab.ensemble`). No drill runs per episode.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twin.errors import InputError

__all__ = ["OUTDOORS", "LabSite", "ReleasePoint", "gas_detectors", "load_lab_site"]

OUTDOORS = "outdoors"
"""The zone label of a detector in the open (in no space)."""


@dataclass(frozen=True)
class ReleasePoint:
    """An equipment item that can leak: ``zone`` (multizone id), ``zone_col`` (its response column)."""

    name: str
    space: str
    zone: str
    zone_col: int


@dataclass
class LabSite:
    """Detectors and release points of one scenario's site, with the dispersion step responses.

    ``specs``: :class:`twin.sensors.DetectorSpec` per detector; ``zones``: zone label (space name) per
    detector; ``positions``: (n, 3) m; ``to_unit``: reading units per kg/m3 of the lab's gas for each
    detector (0 for detectors of another gas); ``det_zone``: multizone index of each detector (-1
    outdoors); ``sources``: release points; ``step``: (zones, sources, steps + 1) concentrations (kg/m3)
    after 1 kg/s from t = 0, every ``dt`` s; ``gas``: :class:`twin.gas.Gas`; ``operators``: operators in
    the scenario's population (role ``operator``), at least 1.
    """

    scenario: Any
    gas: Any
    specs: list
    names: list[str]
    zones: list[str]
    positions: np.ndarray
    to_unit: np.ndarray
    det_zone: np.ndarray
    sources: list[ReleasePoint]
    skipped: list[str]
    dt: float
    step: np.ndarray | None = None
    operators: int = 1

    def compute_responses(self, horizon: float) -> None:
        """Fill :attr:`step` for ``horizon`` s (once; a longer horizon recomputes)."""
        from twin.dispersion import Multizone
        from twin.load import load_twin
        from twin.placement import unit_responses

        n_steps = int(np.ceil(horizon / self.dt - 1e-9))
        if self.step is not None and self.step.shape[2] >= n_steps + 1:
            return
        g = self._graph if hasattr(self, "_graph") else load_twin(self.scenario.site_path())
        mz = Multizone(g, dt=self.dt)
        K, V, _ = mz.ode_system()
        cols = sorted({s.zone_col for s in self.sources})
        R = unit_responses(K.tocsc(), V, self.dt, n_steps, cols)
        full = np.zeros((R.shape[0], max(cols) + 1 if cols else 0, n_steps + 1), dtype=np.float32)
        for j, c in enumerate(cols):
            full[:, c] = R[:, j]
        self.step = full


def gas_detectors(sc: Any, g: Any) -> list:
    """The gas detectors of a scenario: the site's and the scenario's own ``sensors:``."""
    from drills.sim.hazards import scenario_sensors

    sensors = [s for s in g.site.sensors.values() if s.kind == "gas"]
    return sensors + [s for s in scenario_sensors(list(getattr(sc, "sensors", None) or []), g) if s.kind == "gas"]


def load_lab_site(scenario_path: str | Path, gas_name: str | None = None, where: str = "scenario") -> LabSite:
    """The :class:`LabSite` of a scenario file: its site's gas detectors (and the scenario's ``sensors:``),
    and every indoor equipment item as a release point. ``gas_name`` defaults to the scenario's first
    hazard's gas (H2S when it has none)."""
    from drills.spec.scenario import load_scenario
    from twin.dispersion import Multizone
    from twin.gas import get_gas, kgm3_to_lel, kgm3_to_ppm
    from twin.load import load_twin
    from twin.sensors import spec_from_sensor

    sc = load_scenario(scenario_path)
    g = load_twin(sc.site_path())
    if gas_name is None and not sc.hazards:
        # the gas most detectors of the site read (a leak-free scenario names no hazard)
        from collections import Counter

        read = Counter(s.gas for s in gas_detectors(sc, g) if s.gas)
        gas_name = read.most_common(1)[0][0] if read else "H2S"
    if gas_name is None:
        gas_name = sc.hazards[0].gas if sc.hazards else "H2S"
    try:
        gas = get_gas(gas_name)
    except InputError as e:
        raise InputError(e.message, where=f"{where}: gas") from None
    sensors = gas_detectors(sc, g)
    if not sensors:
        raise InputError(f"the site of {scenario_path} has no gas detectors", where=where)
    mz = Multizone(g, dt=float(sc.gas_step))
    specs, names, zones, pos, to_unit, dz = [], [], [], [], [], []
    for s in sensors:
        spec = spec_from_sensor(s)
        specs.append(spec)
        names.append(s.name or s.id)
        pos.append(s.position)
        zi = -1
        label = OUTDOORS
        if s.space is not None and s.space in g.space_zones:
            z = g.zone_at(s.space, s.position[0], s.position[1])
            zi = mz.zone_index[z]
            label = g.site.spaces[s.space].name or s.space
        zones.append(label)
        dz.append(zi)
        same = False
        if spec.gas is not None:
            try:
                same = get_gas(spec.gas).key == gas.key
            except InputError:
                same = False
        if not same:
            to_unit.append(0.0)
        elif spec.unit == "ppm":
            to_unit.append(float(kgm3_to_ppm(1.0, gas)))
        else:
            to_unit.append(float(kgm3_to_lel(1.0, gas)) if gas.lel else 0.0)
    if not any(to_unit):
        raise InputError(f"no gas detector of the site reads {gas.key}", where=f"{where}: gas")
    sources, skipped = [], []
    for e in sorted(g.site.equipment.values(), key=lambda e: e.name or e.id):
        x, y, _ = e.position
        if e.space is None or e.space not in g.space_zones:
            skipped.append(e.name or e.id)  # outdoor releases need the puff model per weather: not in the lab
            continue
        z = g.zone_at(e.space, x, y)
        sources.append(ReleasePoint(e.name or e.id, g.site.spaces[e.space].name or e.space, z, mz.zone_index[z]))
    if not sources:
        raise InputError("the site has no indoor equipment to release from", where=where)
    operators = sum(p.count for p in sc.population if getattr(p, "role", None) == "operator") if sc.population else 0
    site = LabSite(sc, gas, specs, names, zones, np.asarray(pos, dtype=float), np.asarray(to_unit),
                   np.asarray(dz, dtype=np.int64), sources, skipped, float(sc.gas_step), None, max(int(operators), 1))
    site._graph = g  # type: ignore[attr-defined]
    return site
