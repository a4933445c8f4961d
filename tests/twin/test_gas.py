"""The gas registry, unit conversions and probits, against hand calculations and published values."""

import doctest
import math

import numpy as np
import pytest

import twin.gas as gas_mod
from twin.errors import InputError
from twin.gas import (
    GASES,
    MOLAR_VOLUME_25C,
    get_gas,
    kgm3_to_lel,
    kgm3_to_ppm,
    known_gases,
    lel_to_kgm3,
    lethality,
    mgm3_25c_to_ppm,
    ppm_to_kgm3,
    ppm_to_mgm3_25c,
    probit_probability,
    to_kgm3,
    toxic_load,
)
from twin.units import Concentration, parse_concentration


def test_doctests():
    assert doctest.testmod(gas_mod).failed == 0


def test_registry_has_the_six_gases():
    assert known_gases() == sorted(["H2S", "NH3", "Cl2", "CH4", "C3H8", "CO"])


@pytest.mark.parametrize("name,key", [
    ("h2s", "H2S"), ("Hydrogen Sulfide", "H2S"), ("hydrogen sulphide", "H2S"), ("7783-06-4", "H2S"),
    ("ammonia", "NH3"), ("CL2", "Cl2"), ("Chlorine", "Cl2"), ("methane", "CH4"), ("Natural gas", "CH4"),
    ("propane", "C3H8"), ("LPG", "C3H8"), ("co", "CO"), ("carbon monoxide", "CO"),
])
def test_get_gas_accepts_formula_and_common_names(name, key):
    assert get_gas(name).key == key


def test_unknown_gas_lists_known_ones():
    with pytest.raises(InputError) as e:
        get_gas("xenon")
    for k in known_gases():
        assert k in str(e.value)


def test_density_ideal_gas_hand_calculation():
    # H2S at 20 °C, 1 atm: rho = P M / (R T) = 101325 * 0.03408088 / (8.314462618 * 293.15) = 1.41678 kg/m3
    assert get_gas("H2S").density_20c == pytest.approx(1.416783, rel=1e-6)
    # Heavier than air: Cl2 2.45x, propane 1.52x, H2S 1.18x (reference section 2)
    assert GASES["Cl2"].relative_density == pytest.approx(2.448, abs=1e-3)
    assert GASES["C3H8"].relative_density == pytest.approx(1.522, abs=1e-3)
    assert GASES["H2S"].relative_density == pytest.approx(1.177, abs=1e-3)


def test_ppm_round_trip_and_temperature():
    for g in GASES.values():
        c = ppm_to_kgm3(250.0, g)
        assert kgm3_to_ppm(c, g) == pytest.approx(250.0, rel=1e-12)
        # warmer air is thinner: the same ppm is fewer kg/m3, by T ratio
        assert ppm_to_kgm3(250.0, g, T=298.15) == pytest.approx(c * 293.15 / 298.15, rel=1e-12)
    arr = ppm_to_kgm3(np.array([0.0, 10.0]), "CO")
    assert isinstance(arr, np.ndarray) and arr.shape == (2,)


def test_25c_convention_matches_reference_worked_example():
    # Reference section 2: 2382 mg/m3 = H2S 1709, NH3 3420, Cl2 822, CH4 3631, C3H8 1321, CO 2080 ppm
    expected = {"H2S": 1709, "NH3": 3420, "Cl2": 822, "CH4": 3631, "C3H8": 1321, "CO": 2080}
    for key, ppm in expected.items():
        assert mgm3_25c_to_ppm(2382.0, key) == pytest.approx(ppm, abs=1.0)
        assert ppm_to_mgm3_25c(mgm3_25c_to_ppm(2382.0, key), key) == pytest.approx(2382.0)
    # ... and 3631 ppm of CH4 is 7.3 % LEL on the NFPA/NIOSH LEL of 5 %
    assert 3631 / (GASES["CH4"].lel * 1e4) * 100 == pytest.approx(7.3, abs=0.05)
    # 24.45 L/mol is the rounded ideal molar volume at 25 °C: R T / P = 24.465 L/mol
    assert 8.314462618 * 298.15 / 101325 * 1e3 == pytest.approx(MOLAR_VOLUME_25C, rel=1e-3)


def test_lel_conversions():
    # 10 % LEL of methane (NFPA LEL 5 %) = 5000 ppm; IEC LEL 4.4 % -> 4400 ppm
    assert lel_to_kgm3(10.0, "CH4") == pytest.approx(ppm_to_kgm3(5000.0, "CH4"))
    assert lel_to_kgm3(10.0, "CH4", standard="IEC") == pytest.approx(ppm_to_kgm3(4400.0, "CH4"))
    assert kgm3_to_lel(lel_to_kgm3(37.0, "C3H8"), "C3H8") == pytest.approx(37.0)
    with pytest.raises(InputError):
        lel_to_kgm3(10.0, "Cl2")


def test_concentration_to_kgm3():
    assert to_kgm3(parse_concentration("300 mg/m3")) == pytest.approx(3e-4)
    assert to_kgm3(parse_concentration("10 ppm"), "H2S") == pytest.approx(ppm_to_kgm3(10, "H2S"))
    assert to_kgm3(parse_concentration("20 %LEL"), "methane") == pytest.approx(ppm_to_kgm3(10000, "CH4"))
    assert to_kgm3(parse_concentration("1 %vol"), "CO") == pytest.approx(ppm_to_kgm3(10000, "CO"))
    with pytest.raises(InputError):
        to_kgm3(Concentration(10.0, "ppm"))


def test_thresholds_ordered_and_sourced():
    for g in GASES.values():
        for field in ("molar_mass", "lel", "idlh", "aegl", "erpg"):
            value = getattr(g, field)
            if value not in (None, {}, (None, None, None)):
                assert field in g.sources, (g.key, field)
        for lvl in (1, 2, 3):
            v10, v60 = g.aegl.get(lvl, (None, None))
            if v10 is not None:
                assert v60 <= v10  # longer exposure, lower level
        levels = [g.aegl.get(lvl, (None, None))[1] for lvl in (1, 2, 3)]
        levels = [v for v in levels if v is not None]
        assert levels == sorted(levels)
        erpg = [v for v in g.erpg if v is not None]
        assert erpg == sorted(erpg)
        if g.lel is not None:
            assert g.lel < g.uel and g.lel_iec < g.uel_iec
        assert set(g.unverified) <= {"aegl", "erpg", "probit", "probit_alt", "idlh"}
    assert GASES["H2S"].aegl_ppm(2, 60) == 27.0
    assert GASES["C3H8"].idlh == pytest.approx(0.1 * GASES["C3H8"].lel * 1e4)  # NIOSH: 10 % LEL


def test_lel_and_molar_mass_against_chemicals_package():
    chemicals = pytest.importorskip("chemicals")
    for g in GASES.values():
        assert chemicals.MW(g.cas) * 1e-3 == pytest.approx(g.molar_mass, rel=1e-6)
        if g.lel is None:
            continue
        nfpa = chemicals.LFL(CASRN=g.cas, method="NFPA 497 (2008)")
        iec = chemicals.LFL(CASRN=g.cas, method="IEC 60079-20-1 (2010)")
        assert nfpa * 100 == pytest.approx(g.lel) and iec * 100 == pytest.approx(g.lel_iec)
        assert chemicals.UFL(CASRN=g.cas, method="NFPA 497 (2008)") * 100 == pytest.approx(g.uel)
        assert chemicals.UFL(CASRN=g.cas, method="IEC 60079-20-1 (2010)") * 100 == pytest.approx(g.uel_iec)


def test_probit_checks_of_the_reference():
    # Reference section 3 (recomputed there): CCPS / TNO
    h2s, nh3, cl2 = GASES["H2S"], GASES["NH3"], GASES["Cl2"]
    assert lethality(h2s, 1000, 10) == pytest.approx(0.59, abs=0.005)
    assert lethality(h2s, 1000, 10, probit=h2s.probit_alt) == pytest.approx(0.33, abs=0.005)
    assert lethality(nh3, 10000, 30) == pytest.approx(0.30, abs=0.005)
    assert lethality(nh3, 10000, 30, probit=nh3.probit_alt) == pytest.approx(0.69, abs=0.005)
    assert lethality(cl2, 400, 30) == pytest.approx(0.81, abs=0.005)
    assert lethality(cl2, 400, 30, probit=cl2.probit_alt) == pytest.approx(0.52, abs=0.005)


def test_chlorine_probit_reproduces_withers_and_lees_lc50():
    # Withers & Lees (1985) abstract: LC50 of the regular population 433 ppm for 10 min, 250 ppm for 30 min
    pr = GASES["Cl2"].probit
    for minutes, lc50 in ((10, 433), (30, 250)):
        c = math.exp(((5 - pr.a) / pr.b - math.log(minutes)) / pr.n)
        assert c == pytest.approx(lc50, rel=0.01)


@pytest.mark.parametrize("key", ["H2S", "NH3", "Cl2"])
def test_ccps_and_tno_probits_agree_on_lc50_within_factor_two(key):
    g = GASES[key]
    for minutes in (10, 30, 60):
        lc = []
        for pr in (g.probit, g.probit_alt):
            c = math.exp(((5 - pr.a) / pr.b - math.log(minutes)) / pr.n)
            lc.append(c if pr.unit == "ppm" else mgm3_25c_to_ppm(c, g))
        assert 0.5 <= lc[0] / lc[1] <= 2.0


def test_toxic_load_time_varying_equals_constant():
    # 10 min at 1000 ppm equals 20 samples of 0.5 min at 1000 ppm; a varying series sums C^n dt
    assert toxic_load([1000.0] * 20, 0.5, 1.43) == pytest.approx(1000.0 ** 1.43 * 10)
    assert toxic_load([100.0, 200.0], [1.0, 2.0], 2.0) == pytest.approx(100.0**2 + 2 * 200.0**2)
    assert lethality("H2S", [1000.0] * 20, 0.5) == pytest.approx(lethality("H2S", 1000.0, 10.0))
    assert lethality("Cl2", 0.0, 10.0) == 0.0
    assert probit_probability(5.0) == pytest.approx(0.5)
    with pytest.raises(InputError):
        lethality("CH4", 1e5, 10)


def test_caveats_name_each_unchecked_value_a_drill_uses():
    h2s, ch4, co = get_gas("H2S"), get_gas("CH4"), get_gas("CO")
    use = "lethality probit (fatal_exposures; collapse where no incapacitation term applies)"
    assert [c.split(":")[0] for c in h2s.caveats()] == [f"H2S {use}"]
    assert ch4.caveats() == []  # no probit, no IDLH
    # CO's AEGLs and ERPGs are unchecked too, but only reports use them
    assert [c.split(":")[0] for c in co.caveats()] == [f"CO {use}"]
    assert len(co.caveats(("aegl", "erpg", "probit"))) == 3
    assert all("not yet checked" in c for c in co.caveats(("aegl", "erpg")))
