"""The scenario's people.cues and alerts.operator blocks: bad values answered naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from drills.alerts.policies import parse_alerts
from drills.spec.scenario import scenario_from_dict
from twin.errors import InputError


@pytest.mark.parametrize(("cues", "where", "needle"), [
    ({"odorised": ["H2S"]}, "people.cues.odorised", "not a fuel gas"),
    ({"odorised": ["Unobtainium"]}, "people.cues.odorised", "not a known gas"),
    ({"others_share": 2}, "people.cues.others_share", "0.5"),
    ({"spread_log10": -1}, "people.cues.spread_log10", "0"),
    ({"smell": True}, "people.cues.smell", "unknown field"),
])
def test_bad_cues_name_the_field(cues, where, needle):
    with pytest.raises(InputError) as e:
        scenario_from_dict({"name": "x", "site": "s.yaml", "people": {"cues": cues}}, Path("/tmp/x.yaml"))
    assert e.value.where == where and needle in str(e.value)


def test_defaults_and_operator_block():
    sc = scenario_from_dict({"name": "x", "site": "s.yaml"}, Path("/tmp/x.yaml"))
    c = sc.people.cues
    assert c.odour and c.irritation and c.others_leaving and c.odorised == []
    cfg = parse_alerts({"policy": "threshold", "operator": {"investigation": "4min",
                                                            "roles": {"supervisor": {"false_alerts_seen": 2}}}})
    assert cfg.operator.investigation.params == {"value": 240.0}
    assert cfg.operator.prior("supervisor").false_alerts_seen == 2
    with pytest.raises(InputError) as e:
        parse_alerts({"policy": "threshold", "operator": {"roles": {"janitor": {}}}})
    assert e.value.where == "alerts.operator.roles"
