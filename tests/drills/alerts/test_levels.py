"""One vocabulary of alert levels and one matching rule for every trigger and condition."""

from __future__ import annotations

import pytest

from drills.alerts.levels import alert_rank, level_rank, matches


@pytest.mark.parametrize("level, rank", [("warning", 1), ("low", 1), ("alarm", 2), ("high", 2), ("HIGH", 2),
                                         (1, 1), (2, 2), (3, 3), ("3", 3), (2.0, 2), (None, 1)])
def test_every_level_name_and_number_has_one_rank(level, rank):
    assert level_rank(level) == rank


@pytest.mark.parametrize("bad", ["critical", "severe", "hihg", "", 0, -2, 1.5, True])
def test_unknown_levels_are_refused_naming_the_allowed_values(bad):
    with pytest.raises(ValueError) as e:
        level_rank(bad)
    assert "warning, low (rank 1), alarm, high (rank 2) or a set-point number" in str(e.value)


def test_an_alert_matches_at_or_above_the_level_by_kind_gas_or_any():
    warning = {"kind": "gas", "gas": "H2S", "level": "warning", "rank": 1}
    third = {"kind": "gas", "gas": "H2S", "level": "alarm", "rank": 3}  # a third set point: level word alarm
    assert alert_rank(third) == 3 and alert_rank({"level": "alarm"}) == 2
    for trig, w, t in [({"alert": "gas"}, True, True), ({"alert": "gas", "level": "high"}, False, True),
                       ({"alert": "h2s", "level": "low"}, True, True), ({"alert": "NH3"}, False, False),
                       ({"alert": "any", "level": 3}, False, True), ({"alert": "camera"}, False, False),
                       ({"alert": None, "level": "alarm"}, False, True)]:
        assert (matches(trig, warning), matches(trig, third)) == (w, t), trig
    assert not matches({"alert": "gas"}, None)


def test_a_site_limits_a_trigger_to_that_sites_alerts():
    a = {"kind": "gas", "level": "alarm", "rank": 2, "site": "PlantA"}
    assert matches({"alert": "gas", "site": "PlantA", "level": "high"}, a)
    assert not matches({"alert": "gas", "site": "Office"}, a)
    assert matches({"alert": "gas"}, a)  # no site: any site's alert
