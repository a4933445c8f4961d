"""Source terms: gas (choked and subsonic), liquid, flashing liquefied gas, hole classes, the bound on
typed rates."""

import math

import pytest

from twin.errors import InputError
from twin.gas import AIR_MOLAR_MASS, P_ATM, R_GAS, get_gas
from twin.source_term import (
    HOLE_CLASSES,
    SATURATION_20C,
    choked_ratio,
    flashing_release,
    gas_mass_flux,
    gas_release,
    liquid_release,
    max_credible_rate,
    release_rate,
)


def test_choked_flow_against_naca_1135():
    """Isentropic flow tables (NACA Report 1135, 'Equations, tables, and charts for compressible flow',
    1953) for gamma = 1.4 at M = 1: p*/p0 = 0.52828, rho*/rho0 = 0.63394, a*/a0 = 0.91287, so the choked
    mass flux is rho* a* = 0.57870 rho0 a0. Worked example: air at 10 bar abs and 300 K through a 10 mm
    hole, Cd = 1: rho0 = 11.613 kg/m3, a0 = 347.2 m/s, m = 0.57870 x 11.613 x 347.2 x 7.854e-5 m2
    = 0.18326 kg/s (tolerance 1e-4 relative: the tables' five figures)."""
    assert 1.0 / choked_ratio(1.4) == pytest.approx(0.52828, abs=1e-5)
    p0, T0 = 10e5, 300.0
    rho0 = p0 * AIR_MOLAR_MASS / (R_GAS * T0)
    a0 = math.sqrt(1.4 * R_GAS * T0 / AIR_MOLAR_MASS)
    flux, choked = gas_mass_flux(p0, T0, AIR_MOLAR_MASS, 1.4)
    assert choked
    assert flux / (rho0 * a0) == pytest.approx(0.63394 * 0.91287, rel=1e-4)
    area = math.pi * 0.01**2 / 4
    assert flux * area == pytest.approx(0.18326, rel=1e-3)


def test_subsonic_joins_the_choked_flow_at_the_critical_ratio():
    k = 1.4
    p_crit = P_ATM * choked_ratio(k)
    lo, c_lo = gas_mass_flux(p_crit * (1 - 1e-9), 300.0, AIR_MOLAR_MASS, k)
    hi, c_hi = gas_mass_flux(p_crit * (1 + 1e-9), 300.0, AIR_MOLAR_MASS, k)
    assert not c_lo and c_hi and lo == pytest.approx(hi, rel=1e-6)
    # and it falls to zero as the pressure difference does
    assert gas_mass_flux(P_ATM * 1.0001, 300.0, AIR_MOLAR_MASS, k)[0] < 0.02 * hi


def test_gas_release_of_a_registry_gas():
    r = gas_release("H2S", "small", 10e5)
    assert r.regime == "choked" and "6.35 mm" in r.note and "Yellow Book" in r.note
    k = 34.23 / (34.23 - R_GAS)  # NIST-JANAF Cp at 298.15 K
    M = get_gas("H2S").molar_mass
    area = math.pi * HOLE_CLASSES["small"] ** 2 / 4
    hand = 0.62 * area * 10e5 * math.sqrt(k * M / (R_GAS * 293.15) * (2 / (k + 1)) ** ((k + 1) / (k - 1)))
    assert r.rate == pytest.approx(hand, rel=1e-12)
    with pytest.raises(InputError, match="must exceed the ambient"):
        gas_release("H2S", "small", 0.9e5)
    with pytest.raises(InputError, match="unknown hole class"):
        gas_release("H2S", "tiny", 10e5)


def test_liquid_bernoulli_by_hand():
    """Water-like liquid, 1,000 kg/m3, 3 bar abs over a 10 mm hole, Cd 0.61:
    m = 0.61 x 7.854e-5 x sqrt(2 x 1000 x 198,675) = 0.9551 kg/s."""
    r = liquid_release(1000.0, 0.01, 3e5)
    assert r.rate == pytest.approx(0.61 * math.pi * 0.01**2 / 4 * math.sqrt(2 * 1000 * (3e5 - P_ATM)), rel=1e-12)
    assert r.rate == pytest.approx(0.9551, rel=1e-3)


def test_flashing_ammonia():
    """Liquefied NH3 at 20 °C: 21 % flashes (cp_l (T - Tb) / h_fg = 4745 x 53.35 / 1.1861e6 = 0.2134);
    a hole passes liquid (non-equilibrium), a pipe of 1 m the equilibrium flux
    h_fg / (v_fg sqrt(T cp_l)) = 1.1861e6 / (0.14761 x 1179.4) = 6,813 kg/(m2 s)."""
    r = flashing_release("NH3", "medium")
    assert r.regime.startswith("flashing (non") and r.flash_fraction == pytest.approx(0.2134, abs=5e-4)
    eq = flashing_release("NH3", "medium", pipe_length=1.0)
    area = math.pi * HOLE_CLASSES["medium"] ** 2 / 4
    assert eq.rate / area == pytest.approx(6813.0, rel=2e-3)
    assert eq.rate < r.rate  # flashing in the pipe chokes the flow
    with pytest.raises(InputError, match="saturation pressure"):
        flashing_release("NH3", "medium", 5e5)


def test_saturation_data_against_correlations():
    """The 20 °C saturation data against the corresponding-states correlations of ``chemicals``
    (Ambrose-Walton vapour pressure, Pitzer heat of vaporisation, COSTALD liquid density): within 6 %
    (COSTALD is known to be weakest for polar ammonia)."""
    chemicals = pytest.importorskip("chemicals")
    from chemicals.phase_change import Pitzer
    from chemicals.vapor_pressure import Ambrose_Walton
    from chemicals.volume import COSTALD

    names = {"NH3": "ammonia", "Cl2": "chlorine", "C3H8": "propane"}
    for key, sat in SATURATION_20C.items():
        cas = chemicals.CAS_from_any(names[key])
        tc, pc, w, mw = chemicals.Tc(cas), chemicals.Pc(cas), chemicals.omega(cas), chemicals.MW(cas)
        assert sat.p_sat == pytest.approx(Ambrose_Walton(sat.T, tc, pc, w), rel=0.06), key
        assert sat.h_fg == pytest.approx(Pitzer(sat.T, tc, w) / mw * 1e3, rel=0.06), key
        assert sat.rho_l == pytest.approx(mw / 1e3 / COSTALD(sat.T, tc, chemicals.critical.Vc(cas), w), rel=0.06), key


def test_release_rate_dispatch_and_the_bound():
    assert release_rate("CH4", hole=0.01, pressure=5e5).regime == "choked"
    assert release_rate("Cl2", hole="small", phase="flashing").rate > 0
    assert release_rate("NH3", hole="small", phase="liquid", pressure=10e5).regime == "liquid"
    with pytest.raises(InputError):
        release_rate("CH4", hole=0.01, phase="flashing")
    bound, how = max_credible_rate("H2S")
    assert bound > 1000 and "16 in" in how


def test_leak_ensemble_over_hole_classes():
    """Choked gas flow scales with the hole area: the API RP 581 classes 1/4, 1, 4 in give rates in the
    ratio 1 : 16 : 256; a 2 in pipe drops the 4 in class and ruptures at its bore."""
    from twin.source_term import leak_ensemble

    ens = leak_ensemble("CH4", pressure=20e5)
    rates = {name: r.rate for name, _, r in ens}
    assert rates["medium"] / rates["small"] == pytest.approx(16.0, rel=1e-12)
    assert rates["large"] / rates["small"] == pytest.approx(256.0, rel=1e-12)
    pipe = leak_ensemble("CH4", pressure=20e5, pipe_diameter=0.0508)
    assert [n for n, _, _ in pipe] == ["small", "medium", "rupture"] and pipe[-1][1] == 0.0508
