"""Allowed values for the page's forms, read from the project's own models (never a second list).

Workflow step kinds usable in a site's workflows and the fields each takes come from the step-kind
registry of :mod:`drills.workflow.engine`; the alert policies'
fields, defaults, bounds and descriptions from the JSON Schema of their pydantic models in
:mod:`drills.alerts.policies`; KPI names from :mod:`drills.sim.kpis`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["allowed_values"]


def allowed_values() -> dict[str, Any]:
    from drills.alerts import policies as pol
    from drills.alerts.levels import LEVEL_WORDS
    from drills.sim.kpis import KPI_KEYS
    from drills.workflow import engine as wf

    models = pol.POLICY_CONFIGS
    policies = {}
    for name in pol.POLICIES:
        schema = models[name].model_json_schema(by_alias=True)
        fields = {}
        for key, prop in schema.get("properties", {}).items():
            if key in ("policy", "operator", "detector"):
                continue
            types = {p.get("type") for p in prop.get("anyOf", [prop])} - {None, "null"}
            fields[key] = {"type": sorted(types)[0] if types else "string", "default": prop.get("default"),
                           "description": prop.get("description", ""),
                           "enum": next((p.get("enum") for p in prop.get("anyOf", [prop]) if p.get("enum")), None),
                           "minimum": prop.get("minimum", prop.get("exclusiveMinimum")),
                           "maximum": prop.get("maximum")}
        policies[name] = {"description": (models[name].__doc__ or "").strip().replace("``", ""), "fields": fields}
    return {
        "step_kinds": {k: {"required": list(sk.fields["site"][0]), "optional": list(sk.fields["site"][1]),
                           "doc": sk.doc} for k, sk in wf.REGISTRY.items() if "site" in sk.fields},
        "channels": list(wf.CHANNELS),
        "zone_words": list(wf.ZONE_WORDS),
        "roles": list(wf.AGENT_ROLES) + list(wf.ROLE_ALIASES),
        "levels": list(LEVEL_WORDS),
        "policies": policies,
        "kpis": list(KPI_KEYS),
    }
