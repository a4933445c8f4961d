"""Gas hazards in a drill: releases, indoor and outdoor dispersion, detectors, exposure and re-routing.

One SimPy process steps the gas every ``gas_step`` seconds (default 1 s) from the first release on:

1. each gas's :class:`~twin.dispersion.Multizone` advances (outdoor releases feed the exterior openings
   through a :class:`~twin.plume.PuffTrain`);
2. the detectors read the concentration of the zone they sit in, in their own unit (ppm or %LEL);
3. every person's exposure grows (:class:`agents.exposure.Exposure`); some collapse;
4. spaces whose air passes the hazard level (IDLH for toxic gases, 10 %LEL for flammable ones, unless
   ``hazard_level`` says otherwise) are flagged, so unprotected people route around them and those
   inside walk out;
5. sensor readings and zone concentrations are recorded every ``record_every`` seconds.

Everything random comes from the run's named streams (``sensors``, ``exposure``).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from agents.crowd import INCAPACITATED
from agents.exposure import Exposure
from drills.spec.scenario import all_hazards  # noqa: F401 - also imported from here by older code
from twin.dense_gas import BritterMcQuaidPlume, DenseScreen, screen_release
from twin.dispersion import Multizone
from twin.errors import InputError
from twin.gas import Gas, get_gas, kgm3_to_lel, kgm3_to_ppm, lel_to_kgm3, ppm_to_kgm3
from twin.near_field import EDDY_DIFFUSIVITY, ROOM_AIR_SPEED, NearField
from twin.plume import PuffTrain, Weather
from twin.sensors import build_sensor_arrays
from twin.source_term import max_credible_rate
from twin.toxicity import incapacitation_sources
from twin.units import parse_concentration

from .tenability import Tenability

if TYPE_CHECKING:
    from agents.model import DrillModel
    from drills.spec.scenario import HazardSpec, Scenario
    from twin.graph import SiteGraph

__all__ = ["GasHazards", "OutdoorCoupling", "hazard_level_kgm3", "scenario_sensors"]

NEAR_FIELD_CAVEAT = (
    "detectors in a room with an indoor release read the room's mean only once the room air brings it "
    f"(advection at {ROOM_AIR_SPEED:g} m/s, the low end of occupied rooms, ASHRAE 55) plus the source's own "
    f"gradient by turbulent eddy diffusion, D = {EDDY_DIFFUSIVITY:g} m2/s (an assumption of the order measured "
    "in ventilated rooms: Cheng et al., Environ. Sci. Technol. 2011; Shao et al., Ann. Work Expo. Health 2017; "
    "continuous point source of Carslaw & Jaeger 1959 with the floor reflecting): detection times depend on "
    "the detector's distance from the leak; no momentum jet or dense layering is modelled (twin.near_field)")
"""The caveat of runs whose detectors use :mod:`twin.near_field`."""
REFERENCE_AIR_SPEED = 1.0
"""Air speed (m/s) at which an indoor release is screened for dense-gas behaviour when the scenario has
no weather: a modest indoor draught (the criterion grows as the air speed falls)."""
CLEAN_BLOCK = 2048
"""Gas steps of clean air read at once (bounds the memory of a block: steps x detectors floats)."""
GAS_BLOCK = 512
"""Most gas steps read at once while gas is present (see GasHazards._gas_block)."""
GAS_BLOCK_START = 16
"""Gas steps of the first block, and of the block after one cut short (it doubles while blocks run whole)."""
AHEAD_START = 16
"""Gas steps the detectors are first read ahead (GasHazards._sense_ahead); it doubles while used whole."""

CAMERA_VISIBLE_PPM = 50.0
"""A camera sees a plume in its zone above this many ppm (an assumption for optical gas imaging of a
small leak; set the camera's own detection rate in its ``extra``)."""


def scenario_sensors(specs: list[dict], graph: SiteGraph) -> list:
    """Detectors listed in a scenario (the sketch's sensor fields: name, kind, gas, space, at, setpoints,
    t90, noise, period, extra), placed in the site; ``at`` z is the height above the space's floor."""
    from pydantic import ValidationError
    from shapely.geometry import Point

    from drills.spec.scenario import format_validation_error
    from twin.site import Sensor
    from twin.sketch import SensorIn, sketch_guid

    out = []
    taken = {s.name for s in graph.site.sensors.values()}
    for k, raw in enumerate(specs):
        f = f"sensors[{k}]"
        try:
            spec = SensorIn.model_validate(raw)
        except ValidationError as e:
            where, msg = format_validation_error(e)
            raise InputError(msg, where=f"{f}.{where}") from None
        if spec.name in taken:
            raise InputError(f"a sensor named {spec.name!r} already exists", where=f"{f}.name")
        taken.add(spec.name)
        sid = graph.site.find("spaces", spec.space, field_name=f"{f}.space")
        sp = graph.site.spaces[sid]
        gap = sp.footprint.distance(Point(spec.at[0], spec.at[1]))
        if gap > 0.5:
            raise InputError(f"'at' lies {gap:.2f} m outside space {spec.space!r}", where=f"{f}.at")
        if [c.value for c in spec.setpoints] != sorted(c.value for c in spec.setpoints):
            raise InputError("setpoints must be in ascending order", where=f"{f}.setpoints")
        z = sp.elevation + (spec.at[2] if len(spec.at) == 3 else 1.5)
        out.append(Sensor(id=sketch_guid("sensor", "scenario", spec.name), name=spec.name, kind=spec.kind,
                          position=(spec.at[0], spec.at[1], z), space=sid, storey=sp.storey, gas=spec.gas,
                          setpoints=list(spec.setpoints), t90=spec.t90, noise=spec.noise, period=spec.period,
                          extra=dict(spec.extra)))
    return out


def hazard_level_kgm3(gas: Gas, level: str | None, where: str) -> float:
    """The concentration (kg/m3) above which a space counts as hazardous for ``gas``."""
    if level is None or str(level).strip().upper() == "AUTO":
        if gas.idlh is not None and gas.probit is not None:
            return ppm_to_kgm3(gas.idlh, gas)
        if gas.flammable:
            return ppm_to_kgm3(gas.lel_for() * 1e4 * 0.10, gas)  # 10 %LEL
        if gas.idlh is not None:
            return ppm_to_kgm3(gas.idlh, gas)
        raise InputError(f"{gas.key} has neither an IDLH nor an LEL; give hazard_level", where=where)
    if str(level).strip().upper() == "IDLH":
        if gas.idlh is None:
            raise InputError(f"{gas.key} has no IDLH; give a concentration such as '10 %LEL'", where=where)
        return ppm_to_kgm3(gas.idlh, gas)
    try:
        conc = parse_concentration(level, where)
    except ValueError as e:
        raise InputError(str(e), where=where) from None
    from twin.gas import to_kgm3

    return to_kgm3(conc, gas)


@dataclass(frozen=True)
class AlertEvent:
    """An alert as the workflows see it: the policy's :class:`~drills.alerts.policies.Alert` plus its ``kind``
    (``gas`` or ``camera``) and ``gas``, so triggers like ``{alert: gas, level: high}`` or
    ``{alert: H2S}`` match; other attributes read through to the alert."""

    alert: Any
    kind: str
    gas: str | None
    site: str | None = None  # in a joint exercise, the site that raised it

    def __getattr__(self, name: str) -> Any:
        return getattr(self.alert, name)


class OutdoorCoupling(Protocol):
    """What a joint exercise (:mod:`drills.region.sim`) hands one site so that it shares the regional
    outdoor air. Points are in the site's own frame (m); concentrations in kg/m3.

    ``gases`` are the gas keys released anywhere in the region (every site models them); ``weather`` is
    the regional weather turned into the site's frame; ``t_start`` (s) the first release in the region.
    """

    gases: tuple[str, ...]
    weather: Weather | None
    t_start: float
    exposure_every: float  # s between updates of the exposure of people in the open

    def add_release(self, gas_key: str, train: PuffTrain) -> None:
        """An outdoor release of this site (its own frame); other sites breathe it too."""

    def add_escape(self, gas_key: str, xy: tuple[float, float], z: float) -> None:
        """An indoor release of this site: what leaves its buildings drifts off from ``xy``, ``z``."""

    def stepped(self, t: float, escaped: dict[str, float]) -> None:
        """Called after every gas step with the mass (kg) of each gas that has left the buildings so far."""

    def other(self, gas_key: str, points: np.ndarray, t: float) -> np.ndarray:
        """Outdoor concentration at ``points`` from the other sites' releases."""

    def other_upper(self, gas_key: str, points: np.ndarray, t: float) -> float:
        """An upper bound on :meth:`other` at any of ``points`` (cheap; never below the exact value)."""

    def outdoor(self, gas_key: str, points: np.ndarray, t: float) -> np.ndarray:
        """Outdoor concentration at ``points`` from every release in the region (for people and detectors
        in the open); this site's own escaped gas is left out (see :mod:`drills.region.field`)."""

    def reaches(self, t: float) -> bool:
        """Could any other site's gas be near this site at ``t``? (a cheap test, never a false no)"""

    def note_level(self, gas_key: str, kgm3: float) -> None:
        """This site's lowest alarm set point (or hazard level) of a gas, kg/m3 (sets the wake level)."""

    def wake_level(self, gas_key: str) -> float:
        """kg/m3 at an exterior opening above which a site with no release of the gas starts modelling it
        indoors (see :data:`drills.region.field.WAKE_FRACTION`)."""


class _OutdoorBoundary:
    """The ``outdoor_hook`` of one gas's :class:`Multizone`: the concentration at every exterior opening
    with a known position is the sum of this site's outdoor releases plus, in a joint exercise, the other
    sites' gas. One ``set_outdoor`` call per step with the summed values, so no code reads the
    multizone's private boundary dictionary back."""

    def __init__(self, gas_key: str, coupling: OutdoorCoupling | None = None):
        self.gas_key = gas_key
        self.coupling = coupling
        self.trains: list[PuffTrain] = []
        self._ops: list | None = None
        self._pts = np.zeros((0, 3))
        self._last: np.ndarray | None = None

    def _resolve(self, mz: Multizone) -> None:
        if self._ops is None:  # openings never move: resolve once
            self._ops = [o for o in mz.exterior_openings() if o.xy is not None]
            self._pts = np.array([(o.xy[0], o.xy[1], o.z or 0.0) for o in self._ops], dtype=float).reshape(-1, 3)

    def arrived(self, t: float, mz: Multizone, level: float) -> bool:
        """Is the other sites' gas above ``level`` (kg/m3) at any exterior opening at ``t``? A cheap upper
        bound answers most calls; the exact values are held by the coupling, so the boundary set on
        waking reuses them. Both are refreshed on the same schedule, so the exact values are evaluated at
        the very times they would be without the bound."""
        self._resolve(mz)
        if not self._ops or self.coupling is None:
            return False
        if self.coupling.other_upper(self.gas_key, self._pts, t) <= level:
            return False
        return float(self.coupling.other(self.gas_key, self._pts, t).max()) > level

    def __call__(self, t: float, mz: Multizone) -> None:
        self._resolve(mz)
        if not self._ops:
            return
        c = None
        for train in self.trains:  # in release order, as the earlier chained hooks added them
            v = train.concentration(self._pts, t)
            c = v if c is None else c + v
        if self.coupling is not None:
            v = self.coupling.other(self.gas_key, self._pts, t)
            if c is None and v is self._last:
                return  # the region held its value: the boundary is already set
            self._last = v
            c = v if c is None else c + v
        if c is not None:
            mz.set_outdoor(openings={o.id: float(x) for o, x in zip(self._ops, c, strict=True)})


@dataclass
class _GasState:
    gas: Gas
    mz: Multizone
    exposure: Exposure
    level: float
    sources: list[str] = field(default_factory=list)
    boundary: _OutdoorBoundary | None = None
    quiet: bool = False  # joint exercise: no gas here yet, the multizone is not stepped (see step)
    tenability: Tenability | None = None


@dataclass
class _Ahead:
    """Detector and policy rows read ahead (:meth:`GasHazards._sense_ahead`): the step times, the
    predicted zone states per gas, the detectors' block, the policy's commit, the first row that must be
    taken by ``_sense`` (``stop``) and the rows used so far."""

    times: list[float]
    rows: dict[str, np.ndarray]
    blk: Any
    commit: Any
    stop: int
    used: int = 0

    def matches(self, t: float, gases: dict[str, _GasState]) -> bool:
        """Is the step at ``t`` the next predicted one, with the predicted zone state?"""
        i = self.used
        return i < len(self.times) and self.times[i] == t and all(
            np.array_equal(st.mz.c, self.rows[key][i]) for key, st in gases.items())


class GasHazards:
    """All gas hazards of one run. Build with the run's graph and model, then :meth:`start`."""

    clean_blocks = True
    """Read clean air in blocks of steps (False: step by step, the reference the tests compare with)."""
    gas_blocks = True
    """Read the steps with gas in blocks (:meth:`_gas_block`; False: step by step, the tests' reference)."""

    def __init__(self, sc: Scenario, graph: SiteGraph, model: DrillModel, log: list | None = None,
                 extra_sensors: list | None = None, outdoor: OutdoorCoupling | None = None):
        self.sc = sc
        self.log = log if log is not None else []
        self.g = graph
        self.model = model
        self.env = model.env
        self.crowd = model.crowd
        self.dt = sc.gas_step
        self.specs = all_hazards(sc)
        self.outdoor = outdoor
        self.t_start = min((h.start for h in self.specs), default=0.0)
        if outdoor is not None:  # one exercise clock: gas steps start with the region's first release
            self.t_start = min(outdoor.t_start, self.t_start) if self.specs else outdoor.t_start
        # zone order of every Multizone (sorted zone ids), known even in a leak-free run
        self.zone_index = {z: k for k, z in enumerate(sorted(str(z) for z in graph.zones))}
        self.weather = _weather(sc) if outdoor is None else outdoor.weather
        self.gases: dict[str, _GasState] = {}
        self.source_ids: dict[str, tuple[str, str]] = {}  # hazard id -> (gas key, multizone source id)
        self._trains: dict[str, PuffTrain] = {}  # hazard id -> its puff train (outdoor releases)
        self._physics_caveats: list[str] = []
        self._near_sources: dict[str, list[tuple[str, int, tuple[float, float, float]]]] = {}
        self._det_geo: dict[str, Any] = {}
        self._dc_cache: dict[str, tuple[float, np.ndarray]] = {}  # per gas: (t, detector_concentrations)
        self._near_masks: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
        self._near_fields: dict[str, NearField] = {}  # per gas: detector x source geometry (twin.near_field)
        self._rho: dict[str, float] = {}  # pure gas density per gas key, kg/m3
        for k, h in enumerate(self.specs):
            self._add_hazard(k, h)
        if outdoor is not None:
            for key in outdoor.gases:  # gases that may drift in from other sites
                st = self._gas_state(get_gas(key), "hazards")
                if st.boundary is None:
                    st.boundary = _OutdoorBoundary(st.gas.key, outdoor)
                    st.mz.outdoor_hook = st.boundary
                st.quiet = not st.sources
        self.all_sensors = dict(graph.site.sensors)
        for extra in extra_sensors or []:
            self.all_sensors[extra.id] = extra
        # Detectors and cameras run from the start of the run (continuous operation), the gas from its first
        # release; the clean air before it is read in blocks (see _clean_air).
        self.t_sensing = min(0.0, self.t_start)
        self.sensors = build_sensor_arrays(self.all_sensors.values(), model.streams["sensors"], start=self.t_sensing)
        self._physics_caveats += self._sampling_caveats()
        self._sensor_zone = self._zones_of(self.sensors.gas.ids)
        self._sensor_reads = self._sensor_gas_keys()
        self._cross_reads = self._cross_gas_keys()
        self._camera_zone = self._zones_of(self.sensors.cameras.ids)
        cam_sensors = [self.all_sensors.get(i) for i in self.sensors.cameras.ids]
        self._camera_kind = np.array([str((c.extra if c else {}).get("detects", "gas")) for c in cam_sensors])
        for k, kind in enumerate(self._camera_kind):
            if kind not in ("gas", "people", "person_down", "no_ppe"):
                raise InputError(f"camera {cam_sensors[k].name!r}: detects must be gas, people, person_down or "
                                 f"no_ppe, got {kind!r}", where="sensors")
        self._camera_space = [c.space if c else None for c in cam_sensors]
        # gas cameras inside a zone, and the cameras that look at people
        self._gas_cams = np.flatnonzero((self._camera_kind == "gas") & (self._camera_zone >= 0))
        self._other_cams = np.flatnonzero(self._camera_kind != "gas")
        self._no_fault = np.zeros(len(self.sensors.gas.names), dtype=bool)
        self.flagged: set[str] = set()
        self._block_ok: bool | None = None
        zones = sorted(self.zone_index, key=self.zone_index.get)
        self._space_ids = sorted({graph.zones[z].space for z in zones}, key=str)
        space_pos = {sid: k for k, sid in enumerate(self._space_ids)}
        self._zone_space = np.array([space_pos[graph.zones[z].space] for z in zones], dtype=np.int64)
        self.records_sensors: list[tuple[float, str, float, str]] = []
        self.records_zones: list[tuple[float, str, float]] = []
        self._setup_alerts()
        if outdoor is not None:
            for key, st in self.gases.items():
                outdoor.note_level(key, min(self._lowest_setpoint(key), st.level))
        self.t_detect: float | None = None
        self.detect_by: str | None = None
        self._next_record = self.t_sensing
        self._t_last = self.t_start  # time of the last gas step (the first comes gas_step after t_start)
        self._open_cache: tuple | None = None  # joint exercise: people in the open (see _open_air)
        self._next_open_air = self.t_start  # joint exercise: next exposure update of people in the open
        self._outdoor_det: list | None = None  # joint exercise: detectors in the open (see _outdoor_reads)
        self.timing = {"dispersion": 0.0, "exposure": 0.0, "sensors": 0.0}
        self.block_stats = {"blocks": 0, "rows": 0, "cut": 0, "steps": 0, "ahead": 0, "ahead_rows": 0}
        """Gas blocks taken, gas steps committed in them, blocks cut short, gas steps taken one by one, and
        of those the look-aheads made and the steps whose sensing they gave (:meth:`_sense_ahead`)."""
        self._ahead: _Ahead | None = None
        self._ahead_size = AHEAD_START
        self._ahead_off = False
        """Wall seconds spent per subsystem (for benchmarks/drill_speed.py)."""

    @property
    def caveats(self) -> list[str]:
        """Values this run's results depend on (each gas's probit and IDLH) that are not yet checked
        against a primary source (:meth:`twin.gas.Gas.caveats`)."""
        out = [line for key in sorted(self.gases) for line in self.gases[key].gas.caveats()]
        return out + self._physics_caveats + self._alert_caveats()

    def _alert_caveats(self) -> list[str]:
        """The detector and alert-policy values without a published source that move the alert KPIs."""
        out = []
        if any(s.nuisance is not None for s in self.sensors.gas.specs):
            out.append("detector clean-air nuisance: zero wander, spike rate and size, the share of bump tests "
                       "done without inhibiting the alarms and vehicle exhaust CO are modelling choices without "
                       "a published source (docs/alerts.md, 'Clean-air nuisance'); set them per sensor in extra")
        cfg = self.alert_engine.config
        base = getattr(cfg, "detector", cfg)
        if getattr(base, "baseline", None) is not None:
            out.append(f"alert policy {cfg.policy}: the tracked baseline ({base.baseline:g} s) and the false-alert "
                       "budget are modelling choices (docs/alerts.md)")
        return out

    def _sampling_caveats(self) -> list[str]:
        """Detectors that sample faster than the gas is stepped: they see the concentration of the last
        gas step (held between steps), so their reading can lag by up to ``gas_step``."""
        specs = self.sensors.gas.specs
        fast = sorted({(float(sp.period), sp.name) for sp in specs if sp.period and sp.period < self.dt - 1e-9})
        if not fast:
            return []
        names = ", ".join(n for _, n in fast[:5]) + (" ..." if len(fast) > 5 else "")
        return [f"gas_step {self.dt:g} s is longer than the sampling period of {len(fast)} detector(s) "
                f"({names}; shortest {fast[0][0]:g} s): between gas steps they read the concentration of "
                f"the last step, so alarm times can lag by up to {self.dt:g} s (set gas_step to at most "
                f"the shortest sampling period for exact alarm times)"]

    # -------------------------------------------------------------------------------------- set-up
    def _gas_state(self, gas: Gas, where: str) -> _GasState:
        st = self.gases.get(gas.key)
        if st is None:
            # the air is clean until the first release: the model starts there (no steps of empty air)
            mz = Multizone(self.g, dt=self.dt, t0=self.t_start, gas_density=gas.density())
            exp = Exposure(self.crowd, self.g, mz.zone_index, gas, self.model.streams[f"exposure:{gas.key}"])
            st = _GasState(gas, mz, exp, hazard_level_kgm3(gas, self.sc.hazard_level, "hazard_level"),
                           tenability=Tenability(gas, mz.n))
            self._rho[gas.key] = gas.density()
            self.gases[gas.key] = st
            self._physics_caveats.append(incapacitation_caveat(gas))
        return st

    def _add_hazard(self, k: int, h: HazardSpec) -> None:
        f = f"hazards[{k}]"
        try:
            gas = get_gas(h.gas)
        except InputError as e:
            raise InputError(e.message, where=f"{f}.gas") from None
        st = self._gas_state(gas, f)
        if h.at is not None:
            if len(h.at) not in (2, 3):
                raise InputError("expected [x, y] or [x, y, z] in metres", where=f"{f}.at")
            zone, xy, z = None, (float(h.at[0]), float(h.at[1])), float(h.at[2]) if len(h.at) == 3 else 1.0
        else:
            zone, xy, z = self._source_location(h.source, f"{f}.source")
        stop = None if h.stop is None else h.stop
        hid = str(h.id) if h.id is not None else f"H{k + 1}"
        self._check_rate(hid, gas, h, f)
        scr = self._screen(hid, gas, h, outdoors=zone is None, where=f)
        if zone is not None:
            if self.outdoor is not None:
                self.outdoor.add_escape(gas.key, xy, z)
            if h.burst is not None:
                sid = st.mz.add_burst(zone, h.burst, h.start, source_id=hid)
            else:
                sid = st.mz.add_source(zone, h.rate_value(), h.start, stop, source_id=hid)
                self._near_sources.setdefault(gas.key, []).append((sid, st.mz.zone_index[zone], (xy[0], xy[1], z)))
                if len(self._near_sources) == 1 and len(self._near_sources[gas.key]) == 1:
                    self._physics_caveats.append(NEAR_FIELD_CAVEAT)
        else:
            if self.weather is None:
                raise InputError(f"source {h.source!r} is outdoors: an outdoor release needs weather",
                                 where=f"{f}.source")
            rate = None if h.burst is not None else h.rate_value()
            bursts = [(h.start, h.burst)] if h.burst is not None else []
            if scr.dense and self.outdoor is None:
                train = BritterMcQuaidPlume(xy, self.weather, gas, rate=rate, start=h.start, stop=stop, height=z)
            else:
                train = PuffTrain(xy, self.weather, height=z, rate=rate, start=h.start, stop=stop, bursts=bursts,
                                  max_concentration=gas.density())
            self._near_field_caveat(hid, gas, train, scr.dense and self.outdoor is None)
            if st.boundary is None:
                st.boundary = _OutdoorBoundary(gas.key, self.outdoor)
                st.mz.outdoor_hook = st.boundary
            st.boundary.trains.append(train)  # several outdoor releases of one gas add up
            self._trains[hid] = train
            if self.outdoor is not None:
                self.outdoor.add_release(gas.key, train)
            sid = hid
        st.sources.append(sid)
        self.source_ids[hid] = (gas.key, sid)

    def _check_rate(self, hid: str, gas: Gas, h: HazardSpec, where: str) -> None:
        """A rate from a ``release`` is stated with its model in the caveats; a typed rate above what any
        single release of the gas could give (:func:`twin.source_term.max_credible_rate`) is refused."""
        if h.release is not None:
            self._physics_caveats.append(f"hazard {hid}: rate from its release: {h.release.compute(gas.key).note}")
            return
        if h.burst is not None:
            return
        r = h.rate_value()
        top = max(r[1]) if isinstance(r, tuple) else float(r)
        bound, how = max_credible_rate(gas)
        if top > bound:
            raise InputError(f"hazard {hid}: {top:g} kg/s of {gas.key} is more than {how} could release "
                             f"({bound:.4g} kg/s; twin.source_term): give a physically possible rate, or the "
                             "hole, pressure and phase as 'release'", where=f"{where}.rate")

    def _screen(self, hid: str, gas: Gas, h: HazardSpec, *, outdoors: bool, where: str) -> DenseScreen:
        """Britter-McQuaid dense-gas screening of one release (:mod:`twin.dense_gas`), logged, and stated
        in the caveats when dense. Outdoors a dense rate is modelled with the workbook plume; a dense
        burst is refused (no dense puff model); indoors the well-mixed zones cannot layer it."""
        wind = self.weather.at(h.start) if hasattr(self.weather, "at") else self.weather
        u = wind.wind_speed if wind is not None else REFERENCE_AIR_SPEED
        if h.burst is not None:
            scr = screen_release(gas, u, mass=h.burst)
        else:
            r = h.rate_value()
            scr = screen_release(gas, u, rate=max(r[1]) if isinstance(r, tuple) else float(r))
        air = f"a {u:g} m/s wind" if wind is not None else f"a {REFERENCE_AIR_SPEED:g} m/s reference air speed"
        self.model_log("screening", f"{hid} {gas.key}: {scr.describe()} in {air}")
        if not scr.dense:
            return scr
        src = ("Britter & McQuaid, Workbook on the Dispersion of Dense Gases, HSE Contract Research Report "
               "17/1988")
        if outdoors and h.burst is not None:
            raise InputError(f"hazard {hid}: a {h.burst:g} kg burst of {gas.key} is a dense cloud "
                             f"({scr.describe()}; {src}); the drills have no dense-cloud model for bursts: "
                             "give the release as a rate over its duration", where=f"{where}.burst")
        if not outdoors:
            what = ("indoors the zones are well mixed and do not layer it: concentrations near the floor are "
                    "underestimated and higher up overestimated; place detectors for it low")
        elif self.outdoor is not None:
            what = ("in a joint exercise the regional field carries it as a passive Gaussian puff train "
                    "(no dense-gas model there): ground-level concentrations are underestimated")
        else:
            what = ("modelled with the workbook's continuous-plume correlations (EPA TSCREEN digitisation, "
                    "EPA-454/B-94-023) instead of the Gaussian plume")
        self._physics_caveats.append(f"hazard {hid} ({gas.key}) is a dense release: {scr.describe()} in {air} "
                                     f"({src}); {what}")
        return scr

    def _near_field_caveat(self, hid: str, gas: Gas, train: Any, dense: bool) -> None:
        """State which exterior openings lie nearer to an outdoor release than the fitted range of its
        model (Briggs spreads: 100 m; workbook: its Cm/C0 = 0.1 curve)."""
        ops = [o for o in self._exterior_openings() if o.xy is not None]
        if not ops:
            return
        pts = np.array([(o.xy[0], o.xy[1], o.z or 0.0) for o in ops], dtype=float)
        if dense:
            r = train.rate
            rate = max(r[1]) if isinstance(r, tuple) else float(r)
            near = train.below_range(pts, rate)
            rng = "the workbook correlations (nearer than their Cm/C0 = 0.1 curve)"
        else:
            near = train.below_fit(pts)
            rng = ("the range the Briggs dispersion coefficients were fitted to (100 m - 10 km; Briggs 1973 "
                   "via Gifford 1976)")
        if near.any():
            names = ", ".join(sorted({o.id for o, f in zip(ops, near, strict=True) if f})[:5])
            self._physics_caveats.append(
                f"hazard {hid} ({gas.key}): {int(near.sum())} exterior opening(s) downwind lie below {rng} "
                f"({names}{' ...' if near.sum() > 5 else ''}): concentrations there are extrapolated, "
                f"capped at the pure gas ({gas.density():.3g} kg/m3)")

    def _exterior_openings(self) -> list:
        """Exterior openings of the site (from the first gas's multizone; every gas has the same)."""
        st = next(iter(self.gases.values()))
        return st.mz.exterior_openings()

    def _source_location(self, name: str, where: str) -> tuple[str | None, tuple[float, float], float]:
        """Zone (or ``None`` outdoors), xy (m) and height (m) of a release named by equipment or space."""
        site = self.g.site
        hits = [e for e in site.equipment.values() if name in (e.id, e.name)]
        if hits:
            e = hits[0]
            x, y, zz = e.position
            if e.space is not None and e.space in self.g.space_zones:
                return self.g.zone_at(e.space, x, y), (x, y), zz
            return None, (x, y), max(zz, 0.0)
        try:
            sid = site.find("spaces", name, field_name=where)
        except InputError:
            eq = sorted(e.name for e in site.equipment.values())
            raise InputError(f"{name!r} names no equipment or space; equipment: {', '.join(eq) or '(none)'}",
                             where=where) from None
        if sid not in self.g.space_zones:
            raise InputError(f"space {name!r} is not walkable", where=where)
        sp = site.spaces[sid]
        c = sp.footprint.representative_point()
        return self.g.zone_at(sid, c.x, c.y), (c.x, c.y), sp.elevation + 1.0

    def _lowest_setpoint(self, gas_key: str) -> float:
        """The lowest alarm set point (kg/m3) of this site's detectors of ``gas_key`` (inf: none)."""
        low = np.inf
        for spec in self.sensors.gas.specs:
            if spec.gas is None or not spec.setpoints:
                continue
            try:
                gas = get_gas(spec.gas)
            except InputError:
                continue
            if gas.key != gas_key:
                continue
            sp = float(min(spec.setpoints))
            if spec.unit == "ppm":
                low = min(low, float(ppm_to_kgm3(sp, gas)))
            elif gas.flammable:
                low = min(low, float(lel_to_kgm3(sp, gas)))
        return low

    def _zones_of(self, sensor_ids: list[str | None]) -> np.ndarray:
        """Zone index (in the multizone order, identical for every gas) of each sensor; -1 outdoors."""
        out = np.full(len(sensor_ids), -1, dtype=np.int64)
        for k, sid in enumerate(sensor_ids):
            s = self.all_sensors.get(sid) if sid else None
            if s is None or s.space is None or s.space not in self.g.space_zones:
                continue
            out[k] = self.zone_index[self.g.zone_at(s.space, s.position[0], s.position[1])]
        return out

    def _setup_alerts(self) -> None:
        """The alert policy over the detectors' displayed readings, and the operator's response."""
        from agents.operators import Operators
        from drills.alerts.policies import AlertEngine, parse_alerts

        try:
            cfg = parse_alerts(self.sc.alerts)
        except InputError:
            raise
        det, cams = self.sensors.gas, self.sensors.cameras
        zones = sorted(self.zone_index, key=self.zone_index.get)

        def labels(idx: np.ndarray) -> list[str]:
            return [self.g.zones[zones[z]].space if z >= 0 else "outdoors" for z in idx]

        make = AlertEngine
        extra: dict[str, Any] = {}
        if cfg.policy == "model":  # a trained model (drilltwin alerts train), path relative to the scenario
            from drills.alerts.learned import ModelEngine

            make = ModelEngine
            extra["base_dir"] = Path(self.sc.path).parent if self.sc.path is not None else Path.cwd()
        self.alert_engine = make(
            cfg, det.specs, labels(self._sensor_zone), [self.all_sensors[i].position for i in det.ids],
            step=self.dt, camera_names=cams.names, camera_zones=labels(self._camera_zone),
            camera_positions=[self.all_sensors[i].position for i in cams.ids] if len(cams.names) else None, **extra)
        self.operator = Operators(cfg.operator)  # everyone's alarm fatigue, one history per person
        self.cues: Any = None  # the people's own cues (agents.cues.Cues), set by the engine
        self.alerts: list[Any] = []
        self.false_alerts = 0
        self.false_alerts_pre = 0  # before the first release (or all, in a leak-free run)
        self.false_alerts_post = 0
        self.t_alert: float | None = None  # first alert delivered, true or false (KPIs t_alert, t_first_alert)
        self.t_true_alert: float | None = None  # first alert in a zone with gas
        self.t_true_alarm: float | None = None  # ... at rank 2 or above (the second set point's evidence)
        self.t_true_detect: float | None = None  # first set point reached in gas, or a true camera detection
        self.t_auto_ack: float | None = None
        self.on_alert: list = []  # callbacks (the workflows' triggers)
        self.observers: list = []  # callbacks that only watch (a joint exercise); they change nothing here
        # callbacks (event "start"/"end", AlertEpisode) on alert episodes, e.g. a workflow's de-duplication
        self.on_episode: list = self.alert_engine.episode_hooks
        self.alert_events: list[AlertEvent] = []  # every alert with its kind and gas (the alerts table)

    # ---------------------------------------------------------------------------------- the process
    def start(self) -> None:
        self.env.process(self._run())

    def _run(self):
        env = self.env
        if self.t_sensing + self.dt <= self.t_start:
            yield from self._clean_air(self.t_start)
        yield env.timeout(max(self.t_start - env.now, 0.0))
        size = GAS_BLOCK_START
        while True:
            if self.gas_blocks and self._blockable():
                took, m = yield from self._gas_block(size)
                # a block cut early by what happened in it is followed by a shorter one (what stopped it
                # may go on, e.g. an alert zone still changing); an uncut one by a longer one
                size = min(2 * size, GAS_BLOCK) if took == m else max(GAS_BLOCK_START, min(2 * took, GAS_BLOCK))
                if m:
                    continue
            yield env.timeout(self.dt)
            self.step(env.now)

    def finish(self, t_end: float) -> None:
        """Take the last gas step, to the end of the run: the clock stops at ``duration`` before the
        step due then runs, and ``gas_step`` need not divide the time from the first release (without it
        a 1 kg/s release over a 1 h drill released 3,598 kg at a 2 s step). Dispersion and exposure
        only: nothing can react to a reading taken as the drill ends."""
        self.sync()
        if self.specs and t_end > self._t_last + 1e-9 and t_end > self.t_start:
            self.step(t_end, sense=False)

    def _clean_air(self, until: float):
        """Sense every ``gas_step`` from the run's start up to ``until`` (the first release), while the air
        is clean everywhere: the readings of many steps are computed at once (noise, drift, display; the
        same draws in the same order as step by step) and the policy runs over them; the process only
        wakes the clock at an alert or camera alarm, or to let another event of the run happen first.
        Gives what :meth:`_sense` called every step would (the tests pin it)."""
        env = self.env
        dt = self.dt
        det, cams = self.sensors.gas, self.sensors.cameras
        eng = self.alert_engine
        clock = time.perf_counter
        nd = len(det.names)
        while env.now + dt <= until + 1e-9:
            t_next = env.now + dt
            # steps before the next event of any other process (a step at its time waits for it, as the
            # step-by-step process, scheduled later, would)
            horizon = min(env.peek(), until + 1e-9)
            m = min(int(np.ceil((horizon - t_next) / dt)) if horizon > t_next else 0, CLEAN_BLOCK)
            while m > 0 and env.now + m * dt >= horizon:
                m -= 1
            if m > 0 and m * dt + env.now > until + 1e-9:
                m -= 1
            c0 = clock()
            blk = det.clean_block(dt, m) if nd and m > 0 and self.clean_blocks else None
            visible = self._camera_scene() if len(cams.names) and blk is not None and len(blk) else None
            cblk = cams.clean_block(dt, len(blk), visible) if visible is not None else None
            if blk is None or len(blk) == 0 or (visible is not None and cblk is None):
                # one step as step() would sense it (no block possible: an alarm level on, sampling off
                # the step grid, the first call of the cameras)
                self.timing["sensors"] += clock() - c0
                yield env.timeout(dt)
                c0 = clock()
                self._sense(env.now)
                if env.now + 1e-9 >= self._next_record:
                    self._record(env.now)
                    self._next_record += self.sc.record_every
                self.timing["sensors"] += clock() - c0
                continue
            m = len(blk)
            bad = det.fault | det.inhibited
            fresh = ~det.fault
            if cblk is not None:  # the first camera to start detecting ends the block there
                det_c = cblk[0]
                rising = det_c & ~np.vstack([cams.detecting[None, :], det_c[:-1]])
                hit = np.flatnonzero(rising.any(axis=1))
                if hit.size:
                    m = int(hit[0]) + 1
                cam_rise = bool(hit.size)
            else:
                cam_rise = False
            stop, new = eng.scan_clean(blk.times[:m], blk.readings[:m], bad, fresh, cameras_last=not cam_rise)
            for j in range(stop + 1):
                t = float(blk.times[j])
                if t + 1e-9 >= self._next_record:
                    self._record_row(t, blk.readings[j])
                    self._next_record += self.sc.record_every
            det.commit_clean(blk, stop)
            if cblk is not None:
                cams.commit_clean(blk.times, cblk[0], visible, stop)
            self.timing["sensors"] += clock() - c0
            yield env.timeout(float(blk.times[stop]) - env.now)
            if cblk is not None and cams.new_alarms:
                new += self._camera_alarms(env.now)
            for a in new:
                self._alert(a)

    def step(self, t: float, sense: bool = True, ahead: bool = True) -> None:
        """Advance the gas to ``t`` and let detectors, people and routes react (``sense=False``: the
        dispersion and exposure only; ``ahead=False``: no reading ahead, see :meth:`_sense_ahead`)."""
        step_dt = t - self._t_last
        self._t_last = t
        self.block_stats["steps"] += 1
        clock = time.perf_counter
        hazardous: set[str] = set()
        for st in self.gases.values():
            if st.quiet:
                if not self.outdoor.reaches(t):
                    continue  # no gas anywhere near: the air stays clean, nothing to step
                if not st.boundary.arrived(t, st.mz, self.outdoor.wake_level(st.gas.key)):
                    continue  # a trace at the openings: indoors stays below it (see WAKE_FRACTION)
                self._wake(st, t)
            t0 = clock()
            st.mz.advance(t)
            t1 = clock()
            ppm = st.exposure.update(t, step_dt, st.mz.c)
            st.tenability.update(t, step_dt, st.mz)
            if self.cues is not None:
                self.cues.breathe(st.gas.key, ppm)  # people who smell or feel it act without an alarm
            t2 = clock()
            self.timing["dispersion"] += t1 - t0
            self.timing["exposure"] += t2 - t1
            bad = np.flatnonzero(st.mz.c > st.level)
            for zi in bad:
                hazardous.add(self.g.zones[st.mz.zones[zi]].space)
        if not sense:
            return
        if self.outdoor is not None:
            self._regional_step(t)
        t3 = clock()
        if ahead and self.gas_blocks and not self._ahead_off and self._blockable():
            self._sense_ahead(t)
        else:
            self._sense(t)
        self.timing["sensors"] += clock() - t3
        if hazardous != self.flagged:
            gone = self.flagged - hazardous
            new = hazardous - self.flagged
            if gone:
                self.crowd.set_hazard_spaces(sorted(gone), False)
            if new:
                self.crowd.set_hazard_spaces(sorted(new), True)
                self.model_log("hazard_zone", ",".join(sorted(self.g.site.spaces[s].name for s in new)))
            self.flagged = hazardous
        if t + 1e-9 >= self._next_record:
            self._record(t)
            self._next_record += self.sc.record_every

    # ---------------------------------------------------------------------------------- gas blocks
    def _blockable(self) -> bool:
        """Can the coming gas steps be read in a block? Not in a joint exercise (the region's field and
        people in the open are stepped with the sites), not with an outdoor release (its boundary hook),
        not for a gas still quiet, and not with a learned policy (its features need every row in turn)."""
        if self._block_ok is None:
            self._block_ok = (self.outdoor is None and bool(self.gases)
                              and getattr(self.alert_engine.config, "policy", None) != "model"
                              and all(st.boundary is None and not st.quiet for st in self.gases.values()))
        return self._block_ok

    def _gas_block(self, limit: int):
        """Take up to ``limit`` gas steps at once, before the next event of any other process: the
        multizone steps them (from a checkpoint), then exposure, cues, hazard zones, detectors, cameras and
        the alert policy are evaluated over all the rows at once, each saying at which row it first does
        something another process must see (an alert, an episode, a collapse, someone noticing the gas, a
        zone turning hazardous, a first set point crossing, a camera alarm). The rows before the first such
        row are committed as one (the same state the step-by-step calls would leave, see the tests), the
        clock moves to the last of them, and that row is then taken by :meth:`step` as usual.
        Returns (rows committed, rows looked at); (0, 0) when no block was possible."""
        env, dt = self.env, self.dt
        clock = time.perf_counter
        base = self._t_last
        if env.now != base:
            return 0, 0
        horizon = env.peek()
        times_l: list[float] = []
        t = base
        for _ in range(limit):
            t = t + dt  # as the clock adds each step's timeout
            if t >= horizon - 1e-9:
                break  # a step at another event's time waits for it, as the step-by-step process would
            times_l.append(t)
        m = len(times_l)
        if m < 2:
            return 0, 0
        self.sync()  # detectors read ahead (steps taken one by one before) brought up to now
        times = np.array(times_l)
        dts = np.diff(np.concatenate([[base], times]))
        c0 = clock()
        cps = {key: st.mz.checkpoint() for key, st in self.gases.items()}
        rows = {key: np.empty((m, st.mz.n)) for key, st in self.gases.items()}
        caught = self._step_rows(times_l, rows, 0)
        c1 = clock()
        self.timing["dispersion"] += c1 - c0

        def give_up():
            for key, st in self.gases.items():
                st.mz.restore(cps[key])
            return 0, 0

        if caught:  # a zone near pure gas warns: let the step-by-step path warn at its own step
            return give_up()
        stop = m
        commits = []
        for key, st in self.gases.items():
            j, idx, ppm, commit = st.exposure.block(times, dts, rows[key])
            stop = min(stop, j)
            commits.append(commit)
            if self.cues is not None and len(idx):
                stop = min(stop, self.cues.first_notice(key, idx, ppm))
        # spaces turning hazardous (or safe again) re-route people: such a row is taken step by step
        hz = np.zeros((m, len(self._zone_space)), dtype=bool)
        for st in self.gases.values():
            hz |= rows[st.gas.key] > st.level
        if hz.any() or self.flagged:
            sp = self._space_rows(hz)
            now = np.array([s in self.flagged for s in self._space_ids])
            diff = np.flatnonzero((sp != now).any(axis=1))
            if diff.size:
                stop = min(stop, int(diff[0]))
        c2 = clock()
        self.timing["exposure"] += c2 - c1
        det, cams = self.sensors.gas, self.sensors.cameras
        nd, nc = len(det.names), len(cams.names)
        blk = cblk = None
        if nd:
            values = self._true_rows(rows, times, np.zeros((m, nd)))
            blk = det.gas_block(times, values)
            if blk is None:
                self.timing["sensors"] += clock() - c2
                return give_up()
            stop = min(stop, blk.stop)
        if nc:
            visible = self._camera_rows(rows, m)
            cblk = cams.clean_block(dt, m, visible)
            if cblk is None:
                self.timing["sensors"] += clock() - c2
                return give_up()
            rise = cblk[0] & ~np.vstack([cams.detecting[None, :], cblk[0][:-1]])
            hit = np.flatnonzero(rise.any(axis=1))
            if hit.size:
                stop = min(stop, int(hit[0]))
        commit_alerts = None
        if nd and stop > 0:
            stop, commit_alerts = self._scan_policy(times, blk, stop)
        if stop == 0:
            self.timing["sensors"] += clock() - c2
            return give_up()
        # commit rows [0, stop)
        if stop < m:
            for key, st in self.gases.items():
                st.mz.restore(cps[key])
                for tk in times_l[:stop]:
                    st.mz.advance(tk)
        c3 = clock()
        self.timing["dispersion"] += c3 - c2 if stop < m else 0.0
        for commit in commits:
            commit(stop)
        for key, st in self.gases.items():
            st.tenability.update_block(times[:stop], dts[:stop], rows[key][:stop], st.mz.volume)
        c4 = clock()
        self.timing["exposure"] += c4 - c3
        if blk is not None:
            det.commit_gas(blk, stop)
            commit_alerts(stop)
        if cblk is not None:
            cams.commit_clean(times, cblk[0], visible[stop - 1], stop - 1)
        for k in range(stop):
            tk = times_l[k]
            if tk + 1e-9 >= self._next_record:
                if nd:
                    self._record_row(tk, blk.readings[k])
                for st in self.gases.values():
                    self._record_zones(tk, st, rows[st.gas.key][k])
                self._next_record += self.sc.record_every
        self._t_last = times_l[stop - 1]
        self.timing["sensors"] += clock() - c4
        t_end = times_l[stop - 1]
        if env.now + (t_end - env.now) == t_end:
            yield env.timeout(t_end - env.now)
        else:  # the one delay would round differently from the steps' own: take them one by one
            for _ in range(stop):
                yield env.timeout(dt)
        self.block_stats["blocks"] += 1
        self.block_stats["rows"] += stop
        if stop < m:  # the row where something happens, step by step
            self.block_stats["cut"] += 1
            yield env.timeout(dt)
            self.step(env.now, ahead=False)
            return stop + 1, m
        return stop, m

    # ------------------------------------------------------------------------------ sensing ahead
    def _sense_ahead(self, t: float) -> None:
        """:meth:`_sense` for a gas step taken one by one (other processes have events between the steps,
        e.g. people walking and being counted), with the detectors and the alert policy read ahead: their
        rows for the coming steps are computed at once from the multizone stepped ahead on a checkpoint
        (:class:`_Ahead`), and each step then only checks that the zone state is the one predicted (an
        isolation or anything else that changed the gas ends the prediction there) and that no camera
        alarms. The detectors and the policy are brought up to date (:meth:`sync`) when a row does
        something (an alert, a first crossing, a camera alarm), before anything else changes them (a
        sensor fault inject) and at the end; until then they lag behind, which nothing reads."""
        a = self._ahead
        if a is not None and not a.matches(t, self.gases):
            self.sync()
            a = None
        if a is None:
            a = self._ahead = self._look_ahead(t)
            if a is None:
                self._sense(t)
                return
        cams = self.sensors.cameras
        cblk = None
        if len(cams.names):  # the cameras see the people and the gas of now: one row, as update() would
            visible = self._camera_scene()
            cblk = cams.clean_block(self.dt, 1, visible)
            if cblk is None:  # cameras not scanning at every gas step: no reading ahead in this run
                self._ahead_off = True
                self.sync()
                self._sense(t)
                return
            if (cblk[0][0] & ~cams.detecting).any():
                cblk = None  # a camera alarms: that row goes by _sense
        if a.used >= a.stop or (len(cams.names) and cblk is None):
            self.sync()
            self._sense(t)
            return
        if cblk is not None:
            cams.commit_clean(np.array([t]), cblk[0], visible, 0)
        a.used += 1

    def _look_ahead(self, t: float) -> _Ahead | None:
        """Detector and policy rows for the steps from ``t`` (the multizone has just been advanced to it)
        over the next :attr:`_ahead_size` steps, or ``None`` when they cannot be read ahead."""
        det = self.sensors.gas
        if not len(det.names) or t > self.sc.duration:
            return None
        size = self._ahead_size
        times_l = [t]
        while len(times_l) < size and times_l[-1] + self.dt <= self.sc.duration + 1e-9:
            times_l.append(times_l[-1] + self.dt)
        m = len(times_l)
        if m < 2:
            return None
        rows = {key: np.empty((m, st.mz.n)) for key, st in self.gases.items()}
        for key, st in self.gases.items():
            rows[key][0] = st.mz.c
        cps = {key: st.mz.checkpoint() for key, st in self.gases.items()}
        self._step_rows(times_l, rows, 1)  # the steps ahead are not taken: their warnings come when they are
        for key, st in self.gases.items():
            st.mz.restore(cps[key])
        times = np.array(times_l)
        blk = det.gas_block(times, self._true_rows(rows, times, np.zeros((m, len(det.names)))))
        if blk is None:
            return None
        stop = blk.stop
        commit = None
        if stop > 0:
            stop, commit = self._scan_policy(times, blk, stop)
        if stop == 0:
            self._ahead_size = AHEAD_START
            return None
        self.block_stats["ahead"] += 1
        return _Ahead(times_l, rows, blk, commit, stop)

    def sync(self) -> None:
        """Bring the detectors and the alert policy up to the last step taken (see :meth:`_sense_ahead`);
        call before changing them from outside (a sensor fault) and before reading them."""
        a = self._ahead
        if a is None:
            return
        self._ahead = None
        if a.used:
            self.sensors.gas.commit_gas(a.blk, a.used)
            a.commit(a.used)
            self.block_stats["ahead_rows"] += a.used
        # rows read ahead and used whole: read more ahead next time; cut early: fewer
        self._ahead_size = min(2 * self._ahead_size, GAS_BLOCK) if a.used >= len(a.times) else \
            max(AHEAD_START, min(2 * a.used, GAS_BLOCK))

    def _step_rows(self, times: list[float], rows: dict[str, np.ndarray], first: int) -> list:
        """Advance every gas's multizone to each of ``times[first:]`` in turn, keeping the zone state of
        each step in the matching row of ``rows`` (per gas); returns the warnings the steps raised
        (caught, not shown: the caller decides whether these steps count)."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for k in range(first, len(times)):
                for key, st in self.gases.items():
                    st.mz.advance(times[k])
                    rows[key][k] = st.mz.c
        return caught

    def _scan_policy(self, times: np.ndarray, blk: Any, stop: int) -> tuple[int, Any]:
        """The alert policy over the first ``stop`` rows of a detector block (its levels with inhibited
        heads at 0, as :meth:`DetectorArray.levels` gives them): the first row that changes anything, at
        most ``stop``, and the policy's commit."""
        det = self.sensors.gas
        levels = blk.level if not det._n_faulted else np.where(det.inhibited, 0, blk.level).astype(np.int8)
        j, commit = self.alert_engine.scan_block(times[:stop], blk.readings[:stop], det.fault | det.inhibited,
                                                 ~det.fault, levels[:stop], len(self.sensors.cameras.names) > 0)
        return min(stop, j), commit

    def _space_rows(self, hz: np.ndarray) -> np.ndarray:
        """Rows of zones above the hazard level (steps x zones) to rows of hazardous spaces (steps x
        spaces, in ``self._space_ids`` order)."""
        out = np.zeros((len(hz), len(self._space_ids)), dtype=bool)
        for zi in np.flatnonzero(hz.any(axis=0)):
            out[:, self._zone_space[zi]] |= hz[:, zi]
        return out

    def _camera_rows(self, rows: dict[str, np.ndarray], m: int) -> np.ndarray:
        """What each camera has in view at each of ``m`` rows of zone states (see :meth:`_camera_scene`;
        people do not move within a block, so only the gas part changes)."""
        vis = np.zeros((m, len(self.sensors.cameras.names)), dtype=bool)
        vis |= self._camera_scene(gas=False)
        gas_cam = self._gas_cams
        if gas_cam.size:
            zi = self._camera_zone[gas_cam]
            for key, st in self.gases.items():
                vis[:, gas_cam] |= kgm3_to_ppm(rows[key][:, zi], st.gas) > CAMERA_VISIBLE_PPM
        return vis

    def _wake(self, st: _GasState, t: float) -> None:
        """Gas from another site has reached the openings above the wake level: start this gas's multizone
        one step back. Its air was clean up to a trace below that level (no source indoors, so no zone
        exceeds the openings), so a fresh model started then is the model stepped all along to within
        :data:`drills.region.field.WAKE_FRACTION` of the lowest set point."""
        mz = Multizone(self.g, dt=self.dt, t0=t - self.dt, gas_density=st.gas.density())
        mz.outdoor_hook = st.boundary
        st.mz = mz
        st.quiet = False
        level = kgm3_to_ppm(self.outdoor.wake_level(st.gas.key), st.gas)
        self.model_log("regional_gas", f"{st.gas.key} from a neighbouring site is near "
                                       f"(above {level:.3g} ppm at an opening)")

    def _regional_step(self, t: float) -> None:
        """Joint exercise: report escaped gas to the region, and let people in the open (walking to or
        standing at a muster point) breathe the regional outdoor air."""
        escaped = {k: max(st.mz.released - st.mz.mass(), 0.0) for k, st in self.gases.items() if st.sources}
        self.outdoor.stepped(t, escaped)
        every = max(self.outdoor.exposure_every, self.dt)
        if t + 1e-9 < self._next_open_air:
            return
        self._next_open_air = t + every
        crowd = self.crowd
        n = crowd.n
        own_outdoor = any(st.boundary is not None and st.boundary.trains for st in self.gases.values())
        if n == 0 or not (own_outdoor or self.outdoor.reaches(t)):
            return
        out, pts = self._open_air(t)
        if len(out) == 0:
            return
        for st in self.gases.values():
            c = self.outdoor.outdoor(st.gas.key, pts, t)
            if not c.any():
                continue
            # the same load, probit and per-person threshold as indoors; the value is held for the
            # interval until the next update
            st.exposure.breathe_outdoors(out, c, every, t)

    def _open_air(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """People outside every building (left, or collapsed in the open) and their breathing points ((k, 3) m,
        1.5 m up) at ``t``. While the crowd's journal names nobody new and nobody outside is walking, the
        same arrays are handed out again (the region's field then reuses its grouping of the places)."""
        crowd = self.crowd
        jl = len(crowd.journal)
        hit = self._open_cache
        if hit is not None and hit[0] == jl and crowd.n == hit[1] and not hit[4]:
            return hit[2], hit[3]
        n = crowd.n
        out = crowd.space[:n] < 0
        # people who collapsed indoors are out of every space too, but breathe the air of their zone
        down_in = crowd.state[:n] == INCAPACITATED
        for st in self.gases.values():
            m = min(n, st.exposure.n)
            down_in[:m] &= ~st.exposure.down_outdoors[:m]
        out = np.flatnonzero(out & ~down_in)
        xy = crowd.positions(t, out)
        pts = np.column_stack([xy, np.full(len(out), 1.5)])  # breathing height, m
        # still walking at t (a leg ended by t interpolates to its end, the same point from then on)
        mv = out[crowd.nxt[out] >= 0]
        moving = bool((crowd.t_arr[mv] > t).any()) if len(mv) else False
        self._open_cache = (jl, n, out, pts, moving)
        return out, pts

    def model_log(self, kind: str, detail: str) -> None:
        self.log.append((self.env.now, kind, -1, "", detail))

    def _true_values(self) -> np.ndarray:
        """The true concentration at every detector, in its own unit (ppm or %LEL)."""
        out = np.zeros(len(self.sensors.gas.names))
        if self.outdoor is not None:
            self._outdoor_reads(out)
        return self._true_rows({k: st.mz.c for k, st in self.gases.items()}, self.env.now, out)

    def _true_rows(self, zone_c: dict[str, np.ndarray], t: Any, out: np.ndarray) -> np.ndarray:
        """The true concentration at every detector (its unit) added into ``out`` for the zone state of
        each gas ``zone_c`` at ``t``: one state (zones,) at a time ``t``, or rows (steps x zones) at the
        times ``t`` (then ``out`` is steps x detectors)."""
        for key, det, zi, lel in self._sensor_reads:
            st = self.gases.get(key)
            if st is None:
                continue
            ppm = kgm3_to_ppm(self.local_concentration(key, zone_c[key], zi, det, t), st.gas)
            # %LEL as twin.gas.kgm3_to_lel computes it (the same operations, so the same bits)
            out[..., det] = ppm if lel is None else ppm / lel * 100.0
        for key, det, zi, f in self._cross_reads:  # other gases a head responds to (cross-sensitivity)
            st = self.gases.get(key)
            if st is not None:
                out[..., det] += f * kgm3_to_ppm(self.local_concentration(key, zone_c[key], zi, det, t), st.gas)
        return out

    def local_concentration(self, gas_key: str, zone_c: np.ndarray, zones: np.ndarray,
                            detectors: np.ndarray, t: float | None = None) -> np.ndarray:
        """The concentration (kg/m3) of ``gas_key`` at the inlet of each of ``detectors`` (indices into
        the gas detector array), whose zones are ``zones`` (indices into ``zone_c``, the multizone's
        concentration per zone, kg/m3, at ``t``: now by default): the zone's well-mixed mean, and for the
        detectors of that gas near a release in their own zone the near-field value of
        :meth:`detector_concentrations` (transport delay and gradient from the source). Heads of another
        gas that only cross-respond to this one read the zone mean. The one place the zone state becomes
        what detectors breathe. ``zone_c`` may be rows of zone states (steps x zones) at the times ``t``."""
        out = zone_c[..., zones]
        if not self._near_sources.get(gas_key):
            return out
        geo = self._det_geometry(gas_key)
        if geo is None:
            return out
        key = (gas_key, id(detectors))
        near = self._near_masks.get(key)
        if near is None or near[0] is not detectors:
            near = self._near_masks[key] = (detectors, np.isin(detectors, geo[0]))
        near = near[1]
        if near.any():
            out = out.copy()
            st = self.gases[gas_key]
            if zone_c.ndim == 1:
                out[near] = self.detector_concentrations(gas_key, st, zone_c, t)[detectors[near]]
            else:
                for k in range(len(zone_c)):
                    out[k, near] = self.detector_concentrations(gas_key, st, zone_c[k], float(t[k]),
                                                                cache=False)[detectors[near]]
        return out

    def detector_concentrations(self, gas_key: str, st: _GasState, zone_c: np.ndarray | None = None,
                                t: float | None = None, cache: bool = True) -> np.ndarray:
        """The concentration (kg/m3) of ``gas_key`` at the input of every gas detector (in the order of
        ``self.sensors.gas``; 0 for detectors of other gases or in the open) for the zone state ``zone_c``
        at ``t`` (default: the multizone's now): the zone means, and near a release in its own zone the
        local value of :class:`twin.near_field.NearField` (transport delay and gradient from the source),
        so that a detector's position in its room matters. The one place the zone state becomes what
        detectors breathe."""
        zone_c = st.mz.c if zone_c is None else zone_c
        geo = self._det_geometry(gas_key)
        if geo is None:
            return np.zeros(len(self.sensors.gas.names))
        idx, zone, pos, floor = geo
        out = np.zeros(len(self.sensors.gas.names))
        src = self._near_sources.get(gas_key, [])
        if not src:
            out[idx] = zone_c[zone]
            return out
        nf = self._near_fields.get(gas_key)
        if nf is None:
            nf = self._near_fields[gas_key] = NearField(pos, zone, np.array([p for _, _, p in src]),
                                                        np.array([z for _, z, _ in src]), floor_z=floor)
        t = self.env.now if t is None else t
        if cache:
            hit = self._dc_cache.get(gas_key)
            if hit is not None and hit[0] == t:
                return hit[1]  # ppm and %LEL heads of one gas share one near-field evaluation per step
        states = [st.mz.source_state(sid, t) for sid, _, _ in src]
        rate = [r for r, _, _ in states]
        age = [t - a for _, a, _ in states]
        stop_age = [t - b if b <= t else np.inf for _, _, b in states]
        out[idx] = nf(zone_c, rate, age, stop_age, c_max=self._rho[gas_key])
        if cache:
            self._dc_cache[gas_key] = (t, out)
        return out

    def _det_geometry(self, gas_key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """(detector indices, zone index, positions (m), floor heights (m)) of the detectors of a gas inside
        zones, resolved once."""
        hit = self._det_geo.get(gas_key, False)
        if hit is not False:
            return hit
        rows = [(int(k), int(zi)) for key, det, zone, _ in self._sensor_reads if key == gas_key
                for k, zi in zip(det, zone, strict=True)]
        if not rows:
            self._det_geo[gas_key] = None
            return None
        zones = sorted(self.zone_index, key=self.zone_index.get)
        idx = np.array([k for k, _ in rows], dtype=np.int64)
        zone = np.array([zi for _, zi in rows], dtype=np.int64)
        ids = self.sensors.gas.ids
        pos = np.array([self.all_sensors[ids[k]].position for k in idx], dtype=float).reshape(-1, 3)
        floor = np.array([self.g.zones[zones[zi]].elevation for zi in zone], dtype=float)
        self._det_geo[gas_key] = (idx, zone, pos, floor)
        return self._det_geo[gas_key]

    def _outdoor_reads(self, out: np.ndarray) -> None:
        """Joint exercise: detectors in the open (no zone) read the regional outdoor air."""
        if self._outdoor_det is None:
            det = self.sensors.gas
            rows = []
            for k, (spec, zi, sid) in enumerate(zip(det.specs, self._sensor_zone, det.ids, strict=True)):
                s = self.all_sensors.get(sid) if sid else None
                if zi >= 0 or spec.gas is None or s is None:
                    continue
                try:
                    rows.append((k, get_gas(spec.gas).key, spec.unit, s.position))
                except InputError:
                    continue
            self._outdoor_det = rows
        if not self._outdoor_det or not self.outdoor.reaches(self.env.now):
            return
        for k, key, unit, pos in self._outdoor_det:
            st = self.gases.get(key)
            if st is None:
                continue
            c = float(self.outdoor.outdoor(key, np.array([pos], dtype=float), self.env.now)[0])
            out[k] = kgm3_to_ppm(c, st.gas) if unit == "ppm" else (kgm3_to_lel(c, st.gas) if st.gas.flammable else 0.0)

    def _sensor_gas_keys(self) -> list[tuple[str, np.ndarray, np.ndarray, float | None]]:
        """(gas key, detector indices, their zone indices, the gas's LEL in ppm for %LEL heads or ``None``
        for ppm heads) of every detector inside a zone with a known gas, grouped once so the per-step read
        is one gather per group. %LEL heads of a gas with no LEL read 0 and are left out."""
        rows: dict[tuple[str, float | None], list[tuple[int, int]]] = {}
        for k, (spec, zi) in enumerate(zip(self.sensors.gas.specs, self._sensor_zone, strict=True)):
            if zi < 0 or spec.gas is None:
                continue
            try:
                gas = get_gas(spec.gas)
            except InputError:
                continue  # a gas this run does not model: the detector reads clean air
            if spec.unit != "ppm" and not gas.flammable:
                continue
            lel = None if spec.unit == "ppm" else gas.lel_for("NFPA") * 1e4
            rows.setdefault((gas.key, lel), []).append((k, int(zi)))
        return [(key, np.array([r[0] for r in v], dtype=np.int64), np.array([r[1] for r in v], dtype=np.int64), lel)
                for (key, lel), v in rows.items()]

    def _cross_gas_keys(self) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
        """(other gas key, detector indices, their zone indices, reading per ppm) of the ppm heads that
        respond to a gas other than their own (their nuisance's cross-sensitivity table)."""
        rows: dict[str, list[tuple[int, int, float]]] = {}
        for k, (spec, zi) in enumerate(zip(self.sensors.gas.specs, self._sensor_zone, strict=True)):
            if zi < 0 or spec.unit != "ppm" or spec.nuisance is None:
                continue
            own = None
            try:
                own = get_gas(spec.gas).key if spec.gas else None
            except InputError:
                pass
            for g, f in spec.nuisance.cross:
                try:
                    key = get_gas(g).key
                except InputError:
                    continue  # a gas the registry does not know cannot be released in a run either
                if key != own and f != 0:
                    rows.setdefault(key, []).append((k, int(zi), float(f)))
        return [(key, np.array([r[0] for r in v], dtype=np.int64), np.array([r[1] for r in v], dtype=np.int64),
                 np.array([r[2] for r in v])) for key, v in rows.items()]

    def _sense(self, t: float) -> None:
        det = self.sensors.gas
        new: list = []
        if len(det.names):
            det.update(t, self._true_values())
            self._note_detection()
            new = self._policy_update(t)
        cams = self.sensors.cameras
        if len(cams.names):
            cams.update(t, self._camera_scene())
            new += self._camera_alarms(t)
        for a in new:
            self._alert(a)

    def _policy_update(self, t: float) -> list:
        """The alert policy on the detectors' displayed readings at ``t``."""
        det = self.sensors.gas
        if det._n_faulted:
            bad, levels = det.fault | det.inhibited, det.levels()
        else:  # no fault: nothing to mask, and the levels array is read only
            bad, levels = self._no_fault, det._level
        return self.alert_engine.update(t, det.reading, fault_flags=bad, levels=levels, fresh=det.fresh)

    def _note_detection(self) -> None:
        det = self.sensors.gas
        if self.t_detect is None and det.exceedances:
            ex = det.exceedances[0]
            self.t_detect, self.detect_by = ex.t, ex.name
        if self.t_true_detect is None and det.new_exceedances:
            for ex in det.new_exceedances:  # a set point reached where there is gas (for t_detect_any)
                s = self.all_sensors.get(det.ids[ex.detector])
                if s is not None and s.space is not None and self._gas_in(s.space):
                    self.t_true_detect = ex.t
                    break

    def _camera_alarms(self, t: float) -> list:
        """Log the cameras' new alarms and hand them to the alert policy."""
        cams = self.sensors.cameras
        if self.t_detect is None and cams.new_alarms:
            hits = [a for a in cams.alarms if a.true_positive and self._camera_kind[a.camera] == "gas"]
            if hits:
                self.t_detect, self.detect_by = hits[0].t, hits[0].name
                if self.t_true_detect is None:
                    self.t_true_detect = hits[0].t
        for a in cams.new_alarms:
            self.log.append((self.env.now, "camera", -1, self._camera_space[a.camera] or "",
                             f"{a.name} sees {self._camera_kind[a.camera]}"))
        return self.alert_engine.update_cameras(t, cams.new_alarms)

    def _camera_scene(self, gas: bool = True) -> np.ndarray:
        """What each camera has in view now, by what it is set to detect (``extra.detects``): ``gas`` (a
        plume above CAMERA_VISIBLE_PPM in its zone), ``people`` (anyone in its space), ``person_down``
        (someone collapsed there) or ``no_ppe`` (someone without breathing apparatus in gassed air)."""
        cams = self.sensors.cameras
        visible = np.zeros(len(cams.names), dtype=bool)
        gas_cam = self._gas_cams
        if gas and gas_cam.size:
            zi = self._camera_zone[gas_cam]
            for st in self.gases.values():
                visible[gas_cam] |= kgm3_to_ppm(st.mz.c[zi], st.gas) > CAMERA_VISIBLE_PPM
        if self._other_cams.size:
            crowd = self.crowd
            space = crowd.space
            prot = crowd.protected
            down_space = set(crowd.collapsed_in.values())
            for k in self._other_cams:
                sp = self._camera_space[k]
                if sp is None or sp not in crowd.space_index:
                    continue
                here = space == crowd.space_index[sp]
                kind = self._camera_kind[k]
                if kind == "people":
                    visible[k] = bool(here.any())
                elif kind == "person_down":
                    visible[k] = sp in down_space
                elif kind == "no_ppe":
                    visible[k] = sp in self.flagged and bool((here & ~prot).any())
        return visible

    def _gas_in(self, space: str) -> bool:
        """Is there any gas of this run above a trace (0.1 ppm) in the space? (the truth, for scoring)"""
        if space not in self.g.space_zones:
            return False
        for st in self.gases.values():
            for z in self.g.space_zones[space]:
                if kgm3_to_ppm(float(st.mz.c[self.zone_index[z]]), st.gas) > 0.1:
                    return True
        return False

    def _alert(self, a) -> None:
        """An alert raised now: scored against the truth now (for the KPIs only: nobody in the drill sees
        that), delivered to the control room after the policy's ``latency``."""
        false = not self._gas_in(str(a.zone))
        lat = self.alert_engine.config.latency
        if lat > 0:
            self.env.process(self._deliver_later(replace(a, t=a.t + lat), false, lat))
        else:
            self._deliver(a, false)

    def _deliver_later(self, a, false: bool, lat: float):
        yield self.env.timeout(lat)
        self._deliver(a, false)

    def inject_alert(self, ident: str, level: Any, space: str, policy: str, detector: str | None) -> Any:
        """An alert from an ``alert`` inject (a replayed historian alert, a controller's call): no detector
        or policy raised it here, but from now on it is every policy alert's equal: scored against the gas
        in ``space`` (a walkable space id) now, logged, in the alerts table, counted in the KPIs and handed
        to the workflows' triggers (or the control-room operator). Delivered at once (the inject's time is
        the console time: no policy ``latency`` on top). ``level`` is any level of :mod:`drills.alerts.levels`
        (the alert carries its rank and the rank's word); its location is the space's centroid (m) and its
        confidence 1 (the console shows no evidence ranking for it); ``detector`` one sensor name or several
        separated by commas (the alert's contributing sensors; a modelled gas detector among them gives the
        alert its gas)."""
        from drills.alerts.levels import level_rank
        from drills.alerts.policies import Alert, level_name

        rank = level_rank(level)
        c = self.g.site.spaces[space].footprint.centroid
        a = Alert(f"inject-{ident}", float(self.env.now), level_name(rank), rank, space, (float(c.x), float(c.y)),
                  1.0, policy, tuple(d.strip() for d in detector.split(",") if d.strip()) if detector else ())
        self._deliver(a, not self._gas_in(space))
        return a

    def _deliver(self, a, false: bool) -> None:
        """Log an alert and hand it to the operator and the workflows."""
        self.alerts.append(a)
        before = a.t < self.t_start or not self.specs
        if false:
            self.false_alerts += 1
            if before:
                self.false_alerts_pre += 1
            else:
                self.false_alerts_post += 1
        else:
            if self.t_true_alert is None:
                self.t_true_alert = a.t
            if self.t_true_alarm is None and a.rank >= 2:
                self.t_true_alarm = a.t
        if self.t_alert is None:
            self.t_alert = a.t
        self.log.append((self.env.now, "alert", -1, str(a.zone),
                         f"{a.id} {a.level} {a.policy} conf={a.confidence:.2f} sensors={','.join(a.sensors)}"))
        if not self.on_alert:
            self._control_room_responds(a)
        gases = {self.all_sensors[sid].gas for sid in self.sensors.gas.ids
                 if self.all_sensors.get(sid) is not None and self.all_sensors[sid].name in a.sensors}
        gases.discard(None)
        ev = AlertEvent(a, "camera" if a.policy == "camera" else "gas", sorted(gases)[0] if gases else None)
        self.alert_events.append(ev)
        for cb in self.observers:
            cb(ev)
        for cb in self.on_alert:
            cb(ev)

    def _control_room_responds(self, a) -> None:
        """No procedure in the scenario: the control-room operator is shown every alert (its console
        record, never its truth) and answers with their own fatigue; an acknowledged alert is investigated."""
        from agents.crowd import ROLES

        code = ROLES.index("operator")
        who = next((i for i, r in enumerate(self.crowd._role) if r == code), "operator")
        dismissed, delay = self.operator.respond(self.model.streams["alerts"], a, who=who, role="operator")
        if dismissed:
            self.log.append((self.env.now, "dismissed", who if isinstance(who, int) else -1, str(a.zone), a.id))
            return
        if self.t_auto_ack is None:
            self.t_auto_ack = a.t + delay
        self.investigate(a, delay)

    def investigate(self, alert, delay: float = 0.0) -> None:
        """Someone checks the alert's zone: ``delay`` s from now (the acknowledgement) plus the
        investigation time (``alerts.operator.investigation``). What they find there then, gas above a
        trace or none, is what the people shown the alert learn (:meth:`agents.operators.Operators.learn`):
        the only way an alert's truth reaches anyone in the drill. One investigation per alert."""
        from agents.operators import AlertRecord

        rec = AlertRecord.of(alert)
        took = self.operator.investigation_time(self.model.streams["investigation"], rec)
        if took is None:
            return

        def check():
            yield self.env.timeout(max(float(delay), 0.0) + took)
            false = not self._gas_in(rec.zone)
            self.operator.learn(rec.id, false)
            self.log.append((self.env.now, "investigated", -1, rec.zone,
                             f"{rec.id} {'no gas found' if false else 'gas found'} after {took:.0f} s"))

        self.env.process(check())

    def _record_row(self, t: float, reading: np.ndarray) -> None:
        det = self.sensors.gas
        for name, unit, v in zip(det.names, det.units, reading, strict=True):
            self.records_sensors.append((t, name, float(v), unit))

    def _record(self, t: float) -> None:
        det = self.sensors.gas
        if len(det.names):
            a = self._ahead
            self._record_row(t, det.reading if a is None or a.used == 0 else a.blk.readings[a.used - 1])
        for st in self.gases.values():
            self._record_zones(t, st, st.mz.c)

    def _record_zones(self, t: float, st: _GasState, c: np.ndarray) -> None:
        ppm = kgm3_to_ppm(c, st.gas)
        for zi in np.flatnonzero(ppm > 1e-3):
            self.records_zones.append((t, f"{st.gas.key}:{st.mz.zones[zi]}", float(ppm[zi])))

    # ---------------------------------------------------------------------------------- commands
    def isolate(self, hazard_id: str) -> None:
        """Stop a release now (the isolation step of a workflow)."""
        key, sid = self.source_ids[hazard_id]
        train = self._trains.get(hazard_id)
        if train is not None:  # an outdoor release: no more puffs leave from now on
            train.stop = min(train.stop, self.env.now)
            return
        self.gases[key].mz.isolate(sid, self.env.now)

    # -------------------------------------------------------------------------------------- KPIs
    def kpis(self, t0: float) -> dict[str, Any]:
        n = self.crowd.n
        exposed = np.zeros(n, dtype=bool)
        if not self.gases:  # a leak-free run: only the detectors and the alert policy ran
            return {"t_detect": None if self.t_detect is None else round(self.t_detect - t0, 3),
                    "t_alert": None if self.t_alert is None else round(self.t_alert - t0, 3),
                    "false_alerts": self.false_alerts, "alerts": len(self.alerts), "exposed_idlh": 0,
                    "peak_dose": 0.0, **self.alert_kpis(t0)}
        # the first release's gas; a joint-exercise site with no release of its own: the first regional gas
        first = self.gases[get_gas(self.specs[0].gas).key] if self.specs else next(iter(self.gases.values()))
        for st in self.gases.values():
            st.exposure._grow()
            exposed |= st.exposure.over_idlh[:n]
        load = first.exposure.load[:n]
        peak = first.exposure.peak[:n]
        pr = first.gas.probit
        out = {
            "t_detect": None if self.t_detect is None else round(self.t_detect - t0, 3),
            "t_alert": None if self.t_alert is None else round(self.t_alert - t0, 3),
            "false_alerts": self.false_alerts,
            "alerts": len(self.alerts),
            "detected_by": self.detect_by,
            "exposed_idlh": int(exposed.sum()),
            "peak_dose": round(float(load.max()), 6) if n and pr is not None else None,
            "peak_dose_unit": f"{pr.unit}^{pr.n:g} min" if pr is not None else None,
            "peak_ppm": round(float(peak.max()), 3) if n else None,
            "gas_released_kg": round(sum(st.mz.released for st in self.gases.values()), 6),
            "mass_balance_error": max((st.mz.max_mass_balance_error for st in self.gases.values()), default=0.0),
        }
        if pr is None:  # no lethality probit (flammable gases, simple asphyxiants): no toxic load to show
            out["peak_dose_unit"] = "no toxic probit for " + first.gas.key
        # incapacitation, ASET against RSET, oxygen and, for flammable gases, %LEL (twin.toxicity, .tenability)
        out.update(first.tenability.kpis(t0, self.g, first.mz.zones, self.crowd, first.exposure))
        for st in self.gases.values():  # people down or dead from any gas, the lowest oxygen of all
            if st is not first:
                more = st.tenability.kpis(t0, self.g, st.mz.zones, self.crowd, st.exposure)
                out["fatal_exposures"] += more["fatal_exposures"]
                out["min_o2_pct"] = min(out["min_o2_pct"], more["min_o2_pct"])
        out.update(self.alert_kpis(t0))
        if self.t_auto_ack is not None:
            out["t_ack"] = round(self.t_auto_ack - t0, 3)
        return out

    def alert_kpis(self, t0: float) -> dict[str, Any]:
        """Detection and alert KPIs that mean the same for every policy (docs/alerts.md): the first alert
        (``t_first_alert``, as the older ``t_alert``), the first true alert and true alarm (rank 2: the
        second set point's evidence), true detection by any means (``t_detect_any``: a set point reached in
        a gassed zone, a camera seeing the plume, or a true alert), false alerts before and after the first release, the alert episodes and the
        configured latency. Times in s from ``t0``; ``sensor_days`` the monitoring behind the counts."""
        def rel(x: float | None) -> float | None:
            return None if x is None else round(x - t0, 3)

        cands = [x for x in (self.t_true_detect, self.t_true_alert) if x is not None]
        n_det = len(self.sensors.gas.names)
        days = n_det * max(self.env.now - self.t_sensing, 0.0) / 86400.0
        return {"t_first_alert": rel(self.t_alert), "t_first_true_alert": rel(self.t_true_alert),
                "t_first_true_alarm": rel(self.t_true_alarm), "t_detect_any": rel(min(cands)) if cands else None,
                "false_alerts_pre_leak": self.false_alerts_pre, "false_alerts_post_leak": self.false_alerts_post,
                "alert_episodes": len(self.alert_engine.episodes), "alert_latency": self.alert_engine.config.latency,
                "detector_days": round(days, 4)}


def incapacitation_caveat(gas: Gas) -> str:
    """How people exposed to ``gas`` collapse and die in the drills, with the sources (agents.exposure)."""
    terms = {"co": "ISO 13571:2012 FED for CO (35,000 ppm min)",
             "hcn": "ISO 13571:2012 FED for HCN (exp(C/43)/220 per min)",
             "h2s": ("H2S knockdown: collapse within two breaths (10 s) from 700 ppm, within 5 min from 500 ppm "
                     "(OSHA hydrogen sulfide hazards; ATSDR Medical Management Guidelines for H2S)")}
    own = [terms[s] for s in incapacitation_sources(gas.key)]
    hyp = ("hypoxia from the oxygen the gas displaces (Purser, SFPE Handbook, FED = sum dt / exp(8.13 - 0.54 "
           "(20.9 - %O2)) below 19.5 % O2)")
    inc = "; ".join([*own, hyp])
    if gas.probit is not None:
        pr = gas.probit
        fat = (f"lethal dose by the probit Y = {pr.a:g} + {pr.b:g} ln(C^{pr.n:g} t) ({pr.unit}, min; {pr.source}), "
               "the person's own threshold drawn uniformly")
    else:
        fat = "no lethality probit (fatal_exposures counts none)"
    if own:
        extra = ""
    elif gas.probit is not None:
        extra = (f"; ISO 13571 gives no incapacitating concentration for {gas.key}, so apart from hypoxia people "
                 "collapse only at a lethal dose (late for collapse)")
    else:
        extra = f"; {gas.key} incapacitates only by the oxygen it displaces"
    return (f"{gas.key} incapacitation (collapse, ASET) at FED 1, the median person of ISO 13571 (0.3 covers "
            f"susceptible people, counted as fed_susceptible): {inc}{extra}; {fat}")


def _weather(sc: Scenario):
    """A constant :class:`Weather`, or a :class:`WeatherSeries` when ``wind_shift`` injects change it."""
    from twin.plume import WeatherSeries

    def w(spec) -> Weather:
        return Weather(spec.wind_speed, spec.wind_from, spec.stability, spec.terrain)

    shifts = sorted((inj.time, inj.weather) for inj in sc.injects if inj.kind == "wind_shift" and inj.weather)
    if sc.weather is None and not shifts:
        return None
    from drills.spec.scenario import WeatherSpec

    base = w(sc.weather or WeatherSpec())
    if not shifts:
        return base
    times, weathers = [0.0], [base]
    for t, spec in shifts:
        if t <= times[-1]:
            times[-1], weathers[-1] = t, w(spec)
        else:
            times.append(t)
            weathers.append(w(spec))
    return WeatherSeries(tuple(times), tuple(weathers))
