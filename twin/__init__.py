"""The site twin: IFC models and site sketches as spaces, doors, stairs and registries, and their graphs.

Nothing here knows about agents or drills.
"""

from .errors import ImportWarningRecord, InputError
from .site import Alarm, Building, Door, Equipment, MusterPoint, Sensor, Site, Space, Stair, Storey
from .units import Concentration, parse_concentration, parse_duration, parse_quantity

__all__ = [
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
