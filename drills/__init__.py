"""Drills: scenarios, alert policies, workflows, the run engine, experiments, results and the CLI."""

__all__: list[str] = []
