"""The drill model: Mesa's agent registry and seeded streams on a SimPy clock.

SimPy's ``Environment`` is the only clock: Mesa's ``step`` loop, ``model.steps``, ``batch_run`` and
``mesa.space`` are not used (they are deprecated on the way to Mesa 4). The model is built with
``rng=`` (never ``seed=``), and :meth:`DrillModel.release` drops the class-level ``Agent._ids`` entry
that Mesa 3.3.1 keeps per model, so thousands of runs in one process (a Dask worker) do not leak.
"""

from __future__ import annotations

from collections.abc import Sequence

import mesa
import numpy as np
import simpy

from twin.graph import SiteGraph

from .crowd import Crowd, Person
from .flow import calibration
from .people import Occupant
from .rng import RngStreams

__all__ = ["DrillModel"]


class DrillModel(mesa.Model):
    """People on one site for one run.

    Parameters
    ----------
    graph:
        The site's graphs (:func:`twin.graph.build_graph` or :func:`twin.load.load_twin`).
    seed:
        The run's seed; every subsystem draws from its own stream of :class:`RngStreams`.
    flow:
        Movement calibration, ``sfpe`` or ``empirical`` (see :mod:`agents.flow`).
    closed:
        Door ids locked for the whole run.
    env:
        A SimPy environment to run on instead of a new one: several sites of a joint exercise share one
        clock (:mod:`drills.region.sim`). The caller then drives ``env.run`` itself or calls :meth:`run`
        on one of the models.
    """

    def __init__(self, graph: SiteGraph, *, seed: int, flow: str = "sfpe", closed: Sequence[str] = (),
                 replan_interval: float = 30.0, log_trajectories: bool = True,
                 env: simpy.Environment | None = None):
        self.streams = RngStreams(seed)
        mesa_seed = int(self.streams.seed_sequence("mesa").generate_state(1)[0])
        super().__init__(rng=mesa_seed)
        self.seed = int(seed)
        self.graph = graph
        self.env = env if env is not None else simpy.Environment()
        self.crowd = Crowd(self.env, graph, calibration(flow), closed=closed,
                           replan_interval=replan_interval, log_trajectories=log_trajectories)
        self.people: list[Occupant] = []

    def add_people(self, people: Sequence[Person]) -> np.ndarray:
        """Add people to the crowd and register one Mesa agent each; returns their crowd indices."""
        idx = self.crowd.add(people)
        self.people.extend(Occupant(self, self.crowd, int(i)) for i in idx)
        return idx

    def start(self) -> None:
        """Start the crowd's process (once); :meth:`run` does this itself."""
        if self.crowd._proc is None:
            self.crowd.start()

    def run(self, until: float) -> None:
        """Run the SimPy clock to ``until`` seconds (or until nothing is left to happen)."""
        self.start()
        self.env.run(until=until)

    def release(self) -> None:
        """Free what Mesa 3.3.1 keeps per model at class level (fixed upstream in 3.4.2)."""
        ids = getattr(mesa.Agent, "_ids", None)
        if isinstance(ids, dict):
            ids.pop(self, None)
        self.remove_all_agents()
        self.people.clear()
