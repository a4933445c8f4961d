"""Self-noticed cues: odour, loss of smell, irritation, others leaving; thresholds from twin/odour.py."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import box

from agents.crowd import Person
from agents.cues import Cues, CuesConfig
from agents.model import DrillModel
from twin.graph import build_graph
from twin.odour import ODOURS, odour_for
from twin.site import Door, MusterPoint, Site, Space, Storey


def hall_site(width: float = 20.0) -> Site:
    s = Site(name="h", source="t", schema="t")
    s.storeys = [Storey("G", "G", 0.0)]
    s.spaces["H"] = Space("H", "Hall", "G", box(0, 0, width, 10), 0.0, 3.0)
    s.doors["E"] = Door("E", "E", (width, 5.0, 1.0), 1.0, ("H",), storey="G", external=True, exit=True)
    s.muster["M"] = MusterPoint("M", "M", (width + 20.0, 5.0, 0.0))
    return s


def model(n: int, seed: int = 1, premovement: float = 30.0) -> DrillModel:
    m = DrillModel(build_graph(hall_site()), seed=seed)
    rng = np.random.default_rng(seed)
    m.add_people([Person("H", (float(x), float(y)), 1.2, premovement)
                  for x, y in zip(rng.uniform(1, 15, n), rng.uniform(1, 9, n), strict=True)])
    return m


def test_odour_levels_are_cited():
    for key, d in ODOURS.items():
        for f in ("detect_ppm", "act_ppm", "smell_lost_ppm", "irritation_ppm"):
            if getattr(d, f) is not None:
                assert d.sources.get(f), (key, f)
    h2s = ODOURS["H2S"]
    # faint smell far below action; smell lost at 100-150 ppm (OSHA), where irritation takes over
    assert h2s.detect_ppm < h2s.act_ppm < h2s.smell_lost_ppm <= h2s.irritation_ppm
    # odorised natural gas: readily smelled at one fifth of the LEL (49 CFR 192.625): 5 %vol / 5 = 10,000 ppm
    assert odour_for("CH4").act_ppm is None
    assert odour_for("CH4", odorised=True).act_ppm == pytest.approx(10_000.0)


def test_odour_irritation_and_lost_smell():
    m = model(5)
    cues = Cues(m.crowd, {"spread_log10": 0.0}, m.streams["cues"]).attach()
    # 0.5 ppm: a faint smell only; 5 ppm: offensive (>= 3 ppm); 120 ppm with smell lost but irritating;
    # 0 and 1 ppm: nothing
    n = cues.breathe("H2S", np.array([0.0, 0.5, 5.0, 120.0, 1.0]))
    assert n == 2
    ev = {i: cue for _, kind, i, _, cue in m.crowd.events if kind == "aware"}
    assert ev == {2: "odour H2S", 3: "irritation H2S"}
    # without the irritation cue, 120 ppm is beyond smell: olfactory paralysis warns nobody
    m2 = model(1)
    c2 = Cues(m2.crowd, {"spread_log10": 0.0, "irritation": False}, m2.streams["cues"]).attach()
    assert c2.breathe("H2S", np.array([120.0])) == 0
    assert c2.breathe("H2S", np.array([50.0])) == 1


def test_odourless_gas_warns_nobody_unless_odorised():
    m = model(2)
    cues = Cues(m.crowd, {"spread_log10": 0.0}, m.streams["cues"]).attach()
    assert cues.breathe("CO", np.array([5000.0, 5000.0])) == 0
    assert cues.breathe("CH4", np.array([20000.0, 0.0])) == 0
    m2 = model(2)
    c2 = Cues(m2.crowd, {"spread_log10": 0.0, "odorised": ["natural gas"]}, m2.streams["cues"]).attach()
    assert c2.breathe("CH4", np.array([20000.0, 5000.0])) == 1


def test_people_smell_gas_and_leave_with_no_alarm():
    m = model(6, premovement=10.0)
    cues = Cues(m.crowd, None, m.streams["cues"]).attach()

    def gas():  # 50 ppm H2S reaches everyone at t = 60 s; nobody ever sounds an alarm
        yield m.env.timeout(60.0)
        cues.breathe("H2S", np.full(6, 50.0))

    m.env.process(gas())
    m.run(600.0)
    c = m.crowd
    assert np.all(c.t_aware[:6] == 60.0)
    assert np.all(np.isfinite(c.t_exit[:6])) and np.all(c.t_exit[:6] > 70.0)


def test_others_leaving_spreads_awareness_by_threshold():
    """Threshold model: a person aware through others leaving saw at least their own threshold share of
    the hall set off; anyone never reached had a threshold above the final share."""
    n = 20
    m = model(n, seed=4, premovement=5.0)
    cues = Cues(m.crowd, {"others_share": 0.25}, m.streams["cues"]).attach()
    m.crowd.alarm(np.arange(3))  # three people hear something; the rest see them go
    m.run(2000.0)
    c = m.crowd
    starts = np.sort(c.t_start[:n][np.isfinite(c.t_start[:n])])
    social = [(t, i) for t, kind, i, _, cue in c.events if kind == "aware" and cue == "others leaving"]
    assert social, "nobody followed the people leaving"
    for t, i in social:
        share = np.searchsorted(starts, t, side="right") / n
        assert cues.theta[i] <= share + 1e-12
    never = np.flatnonzero(np.isnan(c.t_aware[:n]))
    assert np.all(cues.theta[never] > len(starts) / n)
    # thresholds are uniform on [0, 2 x others_share]
    assert cues.theta.max() <= 0.5


def test_no_social_cue_when_switched_off():
    m = model(10, seed=4, premovement=5.0)
    Cues(m.crowd, {"others_leaving": False}, m.streams["cues"]).attach()
    m.crowd.alarm(np.arange(3))
    m.run(2000.0)
    assert int(np.isfinite(m.crowd.t_exit[:10]).sum()) == 3


def test_deterministic():
    def run():
        m = model(15, seed=2, premovement=8.0)
        cues = Cues(m.crowd, None, m.streams["cues"]).attach()
        m.crowd.alarm(np.arange(2))
        m.run(2000.0)
        return list(m.crowd.events), cues.summary

    assert run() == run()


def test_bad_config():
    with pytest.raises(ValueError, match="not a fuel gas that carries an odorant"):
        CuesConfig.model_validate({"odorised": ["H2S"]})
    with pytest.raises(ValueError):
        CuesConfig.model_validate({"others_share": 0.9})
