"""Low-code response workflows: YAML procedures compiled to SimPy processes.

:mod:`drills.workflow.engine` holds the workflow model, the step-kind registry with the built-in kinds
and the runner; :mod:`drills.workflow.regional` adds the regional kinds (``request_aid``,
``broadcast_alert``) to the same registry. Importing the package registers both.
"""

from drills.workflow import engine, regional

__all__ = ["engine", "regional"]
