"""Input models: scenario, region and experiment files, and the one validation-error formatter."""

__all__: list[str] = []
