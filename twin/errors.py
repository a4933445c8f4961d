"""Errors and warnings the twin raises or records.

Every error names where the problem is (a file, a field path, or an IFC entity) and what was expected, so
that the command line can print one clear line and exit with code 1 instead of a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["InputError", "ImportWarningRecord"]


class InputError(ValueError):
    """Bad user input: a file, a field or an IFC entity that cannot be used as given.

    Parameters
    ----------
    message:
        What is wrong and what was expected.
    source:
        The file the problem is in, if known.
    where:
        The field path (``storeys[0].spaces[2].polygon``) or IFC entity (``IfcDoor #123 'D1'``).
    """

    def __init__(self, message: str, *, source: str | None = None, where: str | None = None):
        self.message = message
        self.source = source
        self.where = where
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = [p for p in (self.source, self.where) if p]
        prefix = ": ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


@dataclass(frozen=True)
class ImportWarningRecord:
    """One named problem found while importing a site, with the graceful fallback taken.

    ``code`` is a stable identifier (``door_unconnected``, ``storey_no_elevation``, ...) that users can
    filter on; ``entity`` names the IFC entity or sketch item; ``message`` explains the fallback.
    """

    code: str
    entity: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "entity": self.entity, "message": self.message}
