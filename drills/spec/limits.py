"""Upper limits of scenario fields (docs/limits.md gives each one and why).

A value past a limit is refused with exit 1 naming the field and the limit, instead of running for hours,
filling the memory, or silently computing with infinity. The limits are far above any real drill; each is
set where the model or the machine stops making sense, not where a typical scenario ends.
"""

from __future__ import annotations

__all__ = ["MAX_TIME", "MAX_PEOPLE", "MAX_DENSITY", "JAM_DENSITY", "MIN_GAS_STEP", "MAX_GAS_STEP", "MAX_STEPS", "MIN_REPLAN",
           "MAX_RATE", "MAX_BURST", "MAX_WIND", "MAX_SEED", "MAX_ITEMS", "MAX_PATH", "MAX_MARGIN", "MAX_HEIGHT",
           "MAX_REPLICATIONS"]

MAX_TIME = 48 * 3600.0
"""s: the longest run and the latest time of any event (48 h, two days of a continuous exercise)."""
MAX_PEOPLE = 100_000
"""people in one scenario, all population entries together (the largest stadiums seat about 100,000)."""
MAX_DENSITY = 10.0
"""p/m2 at the start in any one space: about the densest crowds ever measured, in crushes (Fruin 1993,
"The causes and prevention of crowd disasters"; Still 2000, PhD thesis, University of Warwick, 9-10 p/m2);
a denser start does not fit on the floor and is refused."""
JAM_DENSITY = 5.4
"""p/m2: Weidmann's (1993) jam density, where the speed-density law gives zero walking speed; a start
denser than this runs, with a warning (nobody can walk until the crowd thins)."""
MIN_GAS_STEP = 0.1
"""s: the shortest gas/detector step (detector response times t90 are 10-60 s; 0.1 s resolves them)."""
MAX_GAS_STEP = 60.0
"""s: the longest gas step (a longer one skips whole detector responses)."""
MAX_STEPS = 2_000_000
"""``duration / gas_step`` and ``duration / record_every``: steps of the gas clock and recorded samples."""
MIN_REPLAN = 1.0
"""s: the shortest interval between routine route refreshes."""
MAX_RATE = 10_000.0
"""kg/s: a release rate. The choked flow of a full-bore rupture of a 1 m gas line at 70 bar is about
9,500 kg/s (ideal-gas choked mass flux, e.g. Perry's Chemical Engineers' Handbook, 8th ed., section 6)."""
MAX_BURST = 1.0e6
"""kg: an instantaneous release (1,000 t, above the largest vapour cloud incidents on record)."""
MAX_WIND = 60.0
"""m/s: wind speed (Beaufort force 12 starts at 32.7 m/s; the Gaussian plume is meaningless long before)."""
MAX_SEED = 2**63 - 1
"""the largest seed (it is stored as a 64-bit integer in the results)."""
MAX_ITEMS = 10_000
"""entries in one list of a scenario (population, injects, hazards, workflows, sensors)."""
MAX_PATH = 1024
"""characters of a file path in a scenario (file systems refuse 4,096; Windows 260 without long paths)."""
MAX_MARGIN = 100.0
"""m: ``margin`` kept clear of the walls when spreading people."""
MAX_HEIGHT = 1000.0
"""m: heights above the floor or ground (a placement grid)."""
MAX_REPLICATIONS = 10_000
"""runs per arm of an experiment (``replications``, ``-n``): at a second a run and four arms, 11 hours;
the convergence statistics settle long before (docs/experiment.md)."""
