"""The forms of the wave page's "Criteria and sign-off roles" part of each
gate, for the PMO: one add form, an edit and a retire form per criterion,
the roles, the sign-off-only choice and the pending changes to approve. A
form the service refused comes back bound, with its errors, in place of the
empty one (`bound`: {(gate id, key): form})."""
from __future__ import annotations

from dataclasses import dataclass, field

from . import criteria as gate_criteria
from .forms import CriterionEditForm, CriterionForm, DecideForm, RetireForm, RolesForm, SignOffOnlyForm


@dataclass
class GateSetup:
    add_form: object
    edits: list  # [(Criterion, edit form, retire form)]: the criteria part of the gate now
    roles_form: object
    sign_off_only_form: object | None  # None: the gate has measured criteria
    pending: list  # [(GateChange, DecideForm)]
    note: str = ""  # what the last change did (after an htmx post)
    errors: bool = False
    keys: dict = field(default_factory=dict)


def prefix(gate, key):
    return f"g{gate.pk}-{key}"


def attach(gate_views, *, bound=None, notes=None):
    """Give each gate view its `setup` (GateSetup)."""
    bound, notes = bound or {}, notes or {}
    for view in gate_views:
        gate, template = view.gate, view.gate.template

        def form(key, cls, **kwargs):
            return bound.get((gate.pk, key)) or cls(prefix=prefix(gate, key), **kwargs)

        edits = []
        for criterion in gate_criteria.active_criteria(template):
            initial = {"criterion": criterion.pk, "comparator": criterion.comparator,
                       "threshold": gate_criteria.number_text(criterion.threshold), "window_hours": criterion.window_hours,
                       "steady_hours": criterion.steady_hours}
            edits.append((criterion, form(f"edit{criterion.pk}", CriterionEditForm, template=template, initial=initial),
                          form(f"retire{criterion.pk}", RetireForm, template=template,
                               initial={"criterion": criterion.pk})))
        active = gate_criteria.active_criteria(template).exists()
        view.setup = GateSetup(
            add_form=form("add", CriterionForm),
            edits=edits,
            roles_form=form("roles", RolesForm, initial={"required_roles": template.required_roles}),
            sign_off_only_form=None if active or template.sign_off_only else form("only", SignOffOnlyForm),
            pending=[(change, DecideForm(prefix=prefix(gate, f"decide{change.pk}"), template=template,
                                         initial={"change": change.pk}))
                     for change in gate_criteria.pending(template)],
            note=notes.get(gate.pk, ""),
            errors=any(key[0] == gate.pk for key in bound),
        )
