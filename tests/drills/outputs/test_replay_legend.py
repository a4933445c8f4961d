"""Replay legibility (issue 16): the GIF shows gas with a colour bar, a role legend and a scale bar; the page
draws people as offset circles, a scale bar and a gas legend."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from drills.outputs.replay import PAGE, _along, _gas_frames, _scale_bar  # noqa: E402


@pytest.mark.parametrize("width,expected", [(100.0, "20 m"), (47.0, "10 m"), (3.0, "1 m"), (900.0, "200 m")])
def test_scale_bar_is_a_round_length(width, expected):
    fig, ax = plt.subplots()
    ax.set_xlim(0, width)
    ax.set_ylim(0, width / 2)
    _scale_bar(ax)
    assert [t.get_text() for t in ax.texts] == [expected]
    plt.close(fig)


def test_gas_frames_reshape_the_page_data():
    import base64

    mat = np.arange(6, dtype=np.float32).reshape(3, 2)
    data = {"gas": {"t": [0, 10, 20], "v": base64.b64encode(mat.tobytes()).decode(), "max": 5.0},
            "zones": [{"id": "a"}, {"id": "b"}]}
    v, t = _gas_frames(data)
    assert v.shape == (3, 2) and v[2, 1] == 5.0 and list(t) == [0, 10, 20]
    assert _gas_frames({"gas": None, "zones": []}) == (None, None)


def test_along_a_polyline():
    line = np.array([[0.0, 0.0], [3.0, 0.0], [3.0, 4.0]])  # 3 m east then 4 m north
    assert _along(line, 0.0) == (0.0, 0.0)
    assert _along(line, 0.5) == pytest.approx((3.0, 0.5))
    assert _along(line, 1.0) == (3.0, 4.0)


def test_page_walks_outdoor_legs_along_their_corners():
    assert 'via.get(n0 + ":" + n1)' in PAGE and "function along(p, f)" in PAGE


def test_page_draws_circles_scale_and_gas_legend():
    assert "ctx.arc(view.x(P.x + jx)" in PAGE and "fillRect(view.x(P.x)" not in PAGE
    assert '" m", bx' in PAGE and "gas in zones: 0 to" in PAGE


@pytest.mark.slow
def test_gif_shows_gas(tmp_path):
    from PIL import Image

    from drills.cli.main import main
    from tests.conftest import SCENARIOS

    out = tmp_path / "leak"
    main(["run", str(SCENARIOS / "plant_h2s_leak.yaml"), "--out", str(out), "--json"])
    main(["replay", str(out), "--gif", str(tmp_path / "r.gif")])
    im = Image.open(tmp_path / "r.gif")
    im.seek(im.n_frames - 1)
    px = np.asarray(im.convert("RGB")).reshape(-1, 3).astype(int)
    purple = (px[:, 0] > 120) & (px[:, 2] > 80) & (px[:, 1] < 80)  # the RdPu tint of a gassed zone
    assert purple.sum() > 200

