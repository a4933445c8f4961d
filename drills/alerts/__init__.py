"""Alert policies: set points, early-warning change detection, fusion and cameras, with operator fatigue."""

__all__: list[str] = []
