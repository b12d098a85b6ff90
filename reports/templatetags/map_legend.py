"""`{% pin_legend %}`: what each pin colour on a map means, in words (WCAG 1.4.1: colour is never
the only way a state is told; the list and the pin's popup name it too).

The colours live in static/css/fixpoint.css as `--pin-<state>`; the maps' scripts read them from
there, so the legend and the pins cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from django import template

from reports.models import ReportState

register = template.Library()

# The public map shows these; staff maps add the rest.
PUBLIC = [
    ReportState.OPEN,
    ReportState.VERIFIED,
    ReportState.IN_PROGRESS,
    ReportState.FIXED,
    ReportState.CLOSED,
]


@register.inclusion_tag("reports/_pin_legend.html")
def pin_legend(*, staff: bool = False) -> dict[str, Any]:
    states = list(ReportState) if staff else PUBLIC
    return {"states": [(state.value, state.label) for state in states]}
