"""Joint exercises: site runs composed on one clock with a road network, shared resources and one outdoor field."""

__all__: list[str] = []
