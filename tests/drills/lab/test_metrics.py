"""Scoring on synthetic cases with exact expected counts and lead times."""

from __future__ import annotations

import numpy as np
import pytest

from drills.lab.metrics import alarm_rate_kpis, episode_outcomes, odour_times, summary


def test_episode_outcomes_exact_counts_and_first_true_alert():
    # 4 episodes, start at 100 s, window 50 s
    copy = np.array([0, 0, 0, 1, 1, 2, 3])
    t = np.array([90.0, 120.0, 130.0, 100.0, 151.0, 10.0, 200.0])
    o = episode_outcomes(copy, t, 4, np.full(4, 100.0), 50.0)
    assert o["detected"].tolist() == [True, True, False, False]
    assert o["t_first"][0] == 120.0 and o["t_first"][1] == 100.0  # the start itself counts
    assert np.isnan(o["t_first"][2]) and np.isnan(o["t_first"][3])
    assert o["n_true"].tolist() == [2, 1, 0, 0]
    assert o["n_false"].tolist() == [1, 0, 1, 0]
    assert o["n_late"].tolist() == [0, 1, 0, 1]  # after the window: neither true nor false


def test_summary_lead_times_precision_and_base_rate():
    o = episode_outcomes(np.array([0, 1, 2]), np.array([130.0, 160.0, 50.0]), 4, np.full(4, 100.0), 100.0)
    ref = np.array([190.0, 150.0, np.nan, np.nan])  # the set point: later in ep 0, earlier in ep 1
    odour = np.array([140.0, np.nan, np.nan, np.nan])
    s = summary(o, ref, odour, false_alerts=3, leak_free_days=1.0, operators=3, leaks_per_year=2.0,
                window=100.0, slot=50.0, slot_tpr=0.5, slot_fpr=0.01, start=np.full(4, 100.0))
    assert s["detected"] == 2 and s["probability_of_detection"] == 0.5
    # leads where both detected: ep 0 +60 s, ep 1 -10 s -> median 25 s
    assert s["lead_vs_setpoint_median_s"] == pytest.approx(25.0)
    assert s["lead_vs_odour_median_s"] == pytest.approx(10.0)
    assert s["time_to_detect_median_s"] == pytest.approx(45.0)  # 30 s and 60 s
    assert s["false_alerts_per_day"] == 3.0 and s["false_alerts_per_day_per_operator"] == 1.0
    assert s["false_alerts_per_week_per_operator"] == 7.0
    # plant year: 2 leaks x 0.5 = 1 true alert vs 365 x 3 = 1095 false ones
    assert s["precision"] == pytest.approx(1.0 / 1096.0)
    assert s["f1"] == pytest.approx(2 * s["precision"] * 0.5 / (s["precision"] + 0.5))
    # accuracy over 50 s slots: 4 positive slots a year, the rest negative; never alerting scores higher
    pos = 2 * 100.0 / 50.0
    neg = 365 * 86400 / 50.0 - pos
    assert s["accuracy_windowed"] == pytest.approx((0.5 * pos + 0.99 * neg) / (pos + neg))
    assert s["accuracy_never_alert"] == pytest.approx(neg / (pos + neg))
    assert s["accuracy_never_alert"] > s["accuracy_windowed"]
    # in the lab's own mix (2 true episodes, 3 false alerts) precision looks 1000 times better
    assert s["lab_precision_raw"] == pytest.approx(2 / 5)


def test_alarm_rate_kpis_flood_chattering_stale():
    # 1 operator, one copy of 1 h: 12 alerts in the first 10 min (flood), 1 in the second, none after
    t = np.r_[np.linspace(10, 590, 12), 700.0]
    c = np.zeros(t.size, dtype=np.int64)
    ivs = [(0, "A", 10.0, 11.0), (0, "A", 30.0, 31.0), (0, "A", 50.0, 51.0),  # 3 within 60 s: chattering
           (0, "A", 500.0, 501.0), (0, "B", 0.0, 90000.0)]  # B active for 25 h: stale
    k = alarm_rate_kpis(c, t, 1, 3600.0, 1, ivs, 600.0)
    assert k["alerts_per_operator_per_10min"] == pytest.approx(13 / 6)
    assert k["share_time_in_flood"] == pytest.approx(1 / 6)
    assert k["share_slots_over_benchmark"] == pytest.approx(1 / 6)  # 1 per 10 min is not above it
    assert k["peak_per_10min"] == 12.0
    assert k["chattering_activations"] == 3 and k["stale_activations"] == 1
    # two operators share the load: 6 each in the first 10 min is no flood
    assert alarm_rate_kpis(c, t, 1, 3600.0, 2, (), 600.0)["share_time_in_flood"] == 0.0


def test_odour_times():
    ppm = np.array([[0.0, 0.0], [2.0, 0.0], [3.5, 0.0], [4.0, 0.0]])
    t = odour_times(ppm, 3.0, 0.0, 1.0)
    assert t[0] == 3.0 and np.isnan(t[1])
    assert np.isnan(odour_times(ppm, None, 0.0, 1.0)).all()
