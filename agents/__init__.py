"""Mesa agents that live on the twin: occupants, wardens, responders and operators."""

__all__: list[str] = []
