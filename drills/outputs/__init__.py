"""What a run leaves: the results folder, the after-action and comparison reports, and the replay."""

__all__: list[str] = []
