from __future__ import annotations

from django.db import connection
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from authorities.models import Authority

from . import selectors
from .models import ReportState


def home(request: HttpRequest) -> HttpResponse:
    reports = selectors.public_reports()[:50]
    counts = dict(
        selectors.public_reports().order_by().values_list("state").annotate(n=Count("id"))
    )
    authorities = Authority.objects.filter(is_active=True).select_related("parent")
    return render(
        request,
        "reports/home.html",
        {
            "reports": reports,
            "state_counts": [
                (label, counts.get(value, 0))
                for value, label in ReportState.choices
                if value in counts
            ],
            "authorities": authorities,
        },
    )


def report_detail(request: HttpRequest, ref: str) -> HttpResponse:
    report = selectors.public_report_detail(ref.upper())
    if report is None:
        raise Http404("No such public report.")
    timeline = [c for c in report.history.all() if c.to_state != ReportState.UNCONFIRMED]
    return render(request, "reports/report_detail.html", {"report": report, "timeline": timeline})


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: the process is up and can reach its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
