"""The regional step kinds: mutual aid over roads and alert broadcasts to member sites.

They are kinds of the one step registry (:data:`drills.workflow.engine.REGISTRY`), usable in a region's
workflows only; a region's workflows also use the built-in kinds (``notify``, ``wait_ack`` with
escalation and re-notification, ``task``, ``sound_alarm``/``evacuate``/``shelter`` at a ``site``,
``all_clear``, ``parallel``, ``if``) and run on the same :class:`~drills.workflow.engine.WorkflowRunner`
as a site's. The regional layer (:class:`drills.region.workflow.RegionLayer`) is their context: it owns
the roads, the resources and the member sites' runs.

==================  ==============================================================================
request_aid         ``resource`` (a kind or a resource name), ``count`` crews (default 1), ``to`` a
                    site (default the site that triggered); crews are served first come, first
                    served; each turns out, drives the quickest road route to the site's gate, works
                    ``task`` (s, a distribution) and, with ``isolate: HAZARD``, stops that release;
                    then drives back. The step completes when every crew has arrived.
broadcast_alert     ``to`` sites (a list, ``others`` or ``all``; default ``others``), over ``channel``
                    (default ``phone``; latency as in site workflows); on arrival each site is *warned*
                    and does ``action``: ``notify`` (nothing else, the default), ``alarm`` (sound its
                    alarm everywhere), ``shelter`` (everybody shelters in place) or ``evacuate``.
==================  ==============================================================================

:func:`check_region_names` checks the names regional workflows use (sites, resources, hazards, injects)
against the region; :mod:`drills.spec.region` calls it when a region file is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from drills.workflow.engine import Step, Workflow, WorkflowRunner, step_kind, walk_steps
from twin.errors import InputError

__all__ = ["ACTIONS", "build_request_aid", "build_broadcast_alert", "check_region_names"]

ACTIONS = ("notify", "alarm", "shelter", "evacuate")
"""What a site does when a broadcast reaches it."""


def _check_broadcast(st: Step) -> None:
    if st.action is not None and st.action not in ACTIONS:
        raise ValueError(f"action: expected one of {', '.join(ACTIONS)}, got {st.action!r}")


def _check_aid(st: Step) -> None:
    if st.task is not None and st.task.action == "isolate":
        raise ValueError("task.action: a crew's isolation is written isolate: HAZARD on the step")


@step_kind("request_aid", region=(("resource",), ("count", "to", "task", "isolate")), check=_check_aid)
def build_request_aid(r: WorkflowRunner, inst: Any, st: Step):
    """Ask for ``count`` crews of ``resource`` at ``to`` (default: the site that triggered); done when
    every crew has arrived at the site's gate (work and the drive back go on after)."""
    site = st.to or inst.site
    n = st.count or 1
    yield from r.ctx.request_aid(st.resource, n, site, f"{inst.label}.{st.id}", st.task, st.isolate)
    return f"{n} crew(s) of {st.resource} at {site}"


@step_kind("broadcast_alert", region=((), ("to", "channel", "action", "message")), check=_check_broadcast)
def build_broadcast_alert(r: WorkflowRunner, inst: Any, st: Step):
    """Warn the ``to`` sites over ``channel``: each receives it after the channel's latency (s) and does
    ``action``; done when every site has it."""
    env = r.env
    channel = st.channel or "phone"
    why = f"{inst.label}.{st.id}"
    targets = r.ctx.broadcast_targets(st.to, inst.site)

    def deliver(site: str):
        yield env.timeout(r._latency(inst.wf, channel))
        r.ctx.receive_broadcast(site, channel, st.action or "notify", why)

    procs = [env.process(deliver(t)) for t in targets]
    if procs:
        yield env.all_of(procs)
    return f"{len(targets)} site(s) warned"


def check_region_names(workflows: Sequence[Workflow], sites: Sequence[str], resources: Mapping[str, str],
                       hazards: Mapping[str, Sequence[str]], injects: Mapping[str, str | None],
                       resource_kinds: Sequence[str] = ()) -> None:
    """Check every name regional workflows use; raise :class:`InputError` with the field path.

    ``resources``: resource name -> kind; ``hazards``: site -> hazard ids; ``injects``: master inject id
    -> the site it names (or ``None``); ``resource_kinds``: every kind a resource may have (for a hint)."""
    kinds = set(resources.values())

    def site_ok(name: str, where: str) -> None:
        if name not in sites:
            raise InputError(f"{name!r} is not a site of the region; sites: {', '.join(sites)}", where=where)

    for k, wf in enumerate(workflows):
        f = f"workflows[{k}]"
        tr = wf.trigger
        if tr.site is not None:
            site_ok(tr.site, f"{f}.trigger.site")
        if tr.inject is not None and str(tr.inject) not in injects:
            raise InputError(f"no master inject has id {tr.inject!r}", where=f"{f}.trigger.inject")
        # the site a run acts for when a step names none: the trigger's, the inject's, or the alerting site
        trig_site = tr.site or (injects.get(str(tr.inject)) if tr.inject is not None else None)
        dynamic = tr.alert is not None
        for path, st, _ in walk_steps(wf.steps, f"{f}.steps"):
            if st.kind == "request_aid":
                if st.resource not in resources and st.resource not in kinds:
                    known = sorted(set(resources) | kinds)
                    hint = (f"; {st.resource} is a kind but the region has none" if st.resource in resource_kinds
                            else "")
                    raise InputError(f"{st.resource!r} names no resource or resource kind of the region "
                                     f"({', '.join(known) or 'none'}){hint}", where=f"{path}.resource")
                if st.to is None and trig_site is None and not dynamic:
                    raise InputError("request_aid needs to: SITE (the trigger names no site)", where=f"{path}.to")
                if st.to is not None:
                    site_ok(st.to, f"{path}.to")
                target = st.to or trig_site
                if st.isolate is not None and target is not None and st.isolate not in hazards.get(target, ()):
                    raise InputError(f"{st.isolate!r} is no hazard of site {target!r} "
                                     f"(ids: {', '.join(hazards.get(target, ())) or 'none'})", where=f"{path}.isolate")
            elif st.kind == "broadcast_alert":
                if isinstance(st.to, list):
                    for n, name in enumerate(st.to):
                        site_ok(name, f"{path}.to[{n}]")
                elif st.to not in (None, "others", "all"):
                    site_ok(st.to, f"{path}.to")
            elif st.kind in ("sound_alarm", "evacuate", "shelter"):
                if st.site is not None:
                    site_ok(st.site, f"{path}.site")
                elif trig_site is None and not dynamic:
                    raise InputError(f"{st.kind} needs site: SITE (the trigger names no site)", where=f"{path}.site")
