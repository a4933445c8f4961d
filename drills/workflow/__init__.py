"""Low-code response workflows: YAML procedures compiled to SimPy processes."""

__all__: list[str] = []
