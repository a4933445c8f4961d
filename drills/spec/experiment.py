"""A validated experiment file: a base scenario or region, named arms of overrides, replications with
common random numbers, and the KPIs to compare (``docs/experiment.md``). Loading and validating is
:func:`drills.studies.experiment.load_experiment`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Experiment"]


@dataclass
class Experiment:
    """A validated experiment file."""

    name: str
    path: Path
    base: Path
    arms: dict[str, dict[str, Any]]
    replications: int
    kpis: list[str]
    seed: int
    base_arm: str
    common_random_numbers: bool = True
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def seed_of(self, arm: str, rep: int) -> int:
        """The seed of replication ``rep`` of ``arm``: ``seed + rep`` in every arm (common random numbers),
        else a SeedSequence draw of (seed, arm index, rep) so arms are independent."""
        if self.common_random_numbers:
            return self.seed + rep
        k = list(self.arms).index(arm)
        return int(np.random.SeedSequence([self.seed, k, rep]).generate_state(1)[0])

    def fingerprint(self) -> dict[str, Any]:
        """What must match for a resumed output folder to belong to this experiment (not the count): the
        file's settings, the content (sha256) of every input file (``extra["inputs"]``: the base scenario
        or region, its member scenarios, every site model) and the code version, so an input edited between
        ``-n 2`` and ``-n 4`` never mixes two experiments in one table."""
        from drills.spec.provenance import code_version, file_digests

        return {"name": self.name, "base": str(self.base.resolve()), "arms": self.arms, "seed": self.seed,
                "common_random_numbers": self.common_random_numbers,
                "inputs": file_digests([self.base, *self.extra.get("inputs", [])]), "code": code_version()}
