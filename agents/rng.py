"""Named random streams spawned from one seed.

Each subsystem (people, hazard, sensors, alerts, workflow, ...) gets its own ``numpy.random.Generator``
derived from the run's seed and the subsystem's name, so adding a sensor never shifts the people's draws
and replication *i* sees the same people in every arm of an experiment (common random numbers).
Names are hashed with CRC-32, not Python's salted ``hash``, so streams are identical across processes.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["RngStreams"]


class RngStreams:
    """``streams["people"]`` is the people's Generator; the same name always gives the same stream."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._cache: dict[str, np.random.Generator] = {}

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        """The SeedSequence of stream ``name`` (for handing to another library or process)."""
        return np.random.SeedSequence([self.seed, zlib.crc32(name.encode("utf-8"))])

    def __getitem__(self, name: str) -> np.random.Generator:
        g = self._cache.get(name)
        if g is None:
            g = np.random.Generator(np.random.PCG64(self.seed_sequence(name)))
            self._cache[name] = g
        return g
