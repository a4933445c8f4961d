"""The sfpe flow mode's free speed against SFPE's 0.85 k."""

import numpy as np
import pytest

from agents.flow import SFPE_FREE_SPEED, sfpe_speed_note


def test_sfpe_free_speed():
    assert SFPE_FREE_SPEED == pytest.approx(1.19, abs=1e-12)  # 0.85 x 1.40 (SFPE Handbook)


def test_note_names_the_difference():
    note = sfpe_speed_note(np.full(10, 1.34))
    assert note is not None and "+12.6 %" in note  # the 12.6 %
    assert sfpe_speed_note(np.full(10, 1.19)) is None
