"""The site twin: IFC models and site sketches as spaces, doors, stairs and registries, and their graphs.

Nothing here knows about agents or drills.
"""

from .errors import ImportWarningRecord, InputError
from .site import Alarm, Building, Door, Equipment, MusterPoint, Sensor, Site, Space, Stair, Storey
from .units import Concentration, parse_concentration, parse_duration, parse_quantity

# The gas table needs scipy; it is loaded on first use so that importing any twin module (the CLI does,
# for --help) stays light.
_GAS_NAMES = frozenset({"GASES", "Gas", "Probit", "get_gas", "kgm3_to_lel", "kgm3_to_ppm", "known_gases",
                        "lel_to_kgm3", "lethality", "ppm_to_kgm3", "probit_probability", "to_kgm3",
                        "toxic_load"})


def __getattr__(name: str):
    if name in _GAS_NAMES:
        from . import gas

        return getattr(gas, name)
    raise AttributeError(f"module 'twin' has no attribute {name!r}")

__all__ = [
    "GASES",
    "Gas",
    "Probit",
    "get_gas",
    "kgm3_to_lel",
    "kgm3_to_ppm",
    "known_gases",
    "lel_to_kgm3",
    "lethality",
    "ppm_to_kgm3",
    "probit_probability",
    "to_kgm3",
    "toxic_load",
    "Alarm",
    "Building",
    "Concentration",
    "Door",
    "Equipment",
    "ImportWarningRecord",
    "InputError",
    "MusterPoint",
    "Sensor",
    "Site",
    "Space",
    "Stair",
    "Storey",
    "parse_concentration",
    "parse_duration",
    "parse_quantity",
]
