import pytest

from twin.units import Concentration, parse_concentration, parse_duration, parse_quantity


@pytest.mark.parametrize("text,seconds", [
    ("45s", 45), ("5min", 300), ("1.5h", 5400), ("90 s", 90), (30, 30), (2.5, 2.5), ("2 hours", 7200),
])
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text,dim,si", [
    ("2.5 m/s", "speed", 2.5), ("40 km/h", "speed", 40 / 3.6), ("0.05 kg/s", "mass_rate", 0.05),
    ("300 mg/m3", "density", 3e-4), ("1.2 m", "length", 1.2), ("1.2 km", "length", 1200), ("900 mm", "length", 0.9),
])
def test_quantities(text, dim, si):
    assert parse_quantity(text, dim) == pytest.approx(si)


def test_concentrations_keep_gas_units():
    assert parse_concentration("50 ppm") == Concentration(50.0, "ppm")
    assert parse_concentration("20 %LEL") == Concentration(20.0, "%LEL")
    assert parse_concentration("1 %vol") == Concentration(10000.0, "ppm")
    assert parse_concentration("300 mg/m3").value == pytest.approx(3e-4)


@pytest.mark.parametrize("bad,msg", [
    ("5 parsecs", "unknown unit"), ("fast", "cannot read"), ("3 m", "is a length"), (True, "expected a number"),
    (float("nan"), "finite"),
])
def test_bad_quantities_name_the_field(bad, msg):
    with pytest.raises(ValueError, match=msg) as e:
        parse_duration(bad, "hazards[0].start")
    assert "hazards[0].start" in str(e.value)


def test_parse_bounded_checks_the_sign_and_passes_none():
    from twin.units import parse_bounded

    assert parse_bounded("2 min", "time", "t") == 120.0
    assert parse_bounded(None, "time", "t") is None
    assert parse_bounded(0, "time", "t") == 0.0
    with pytest.raises(ValueError, match="must be positive, got 0 s"):
        parse_bounded("0s", "time", "t", positive=True)
    with pytest.raises(ValueError, match="must be non-negative, got -1500 m"):
        parse_bounded("-1.5 km", "length", "d")
