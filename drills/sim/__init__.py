"""One drill run: the engine, its context, the hazard and sensing loop, and the KPIs."""

__all__: list[str] = []
