"""Studies over many runs: paired experiments (site and region) and detector placement."""

__all__: list[str] = []
