"""The alert lab: leak ensembles, scoring, tuning, learned policies and historian replay (docs/alert-lab.md).

Modules: :mod:`.labfile` (the lab file), :mod:`.site` (detectors, release points, dispersion step
responses), :mod:`.ensemble` (leak families and traces), :mod:`.policies` (the only caller of the
detector model and the alert policies), :mod:`.metrics`, :mod:`.evaluate`, :mod:`.report`, :mod:`.tune`,
:mod:`.training`, :mod:`.historian`, :mod:`.replay`, :mod:`.history`, :mod:`.odour`.
"""

__all__ = ["ensemble", "evaluate", "historian", "history", "labfile", "metrics", "odour", "policies",
           "replay", "report", "site", "training", "tune"]
