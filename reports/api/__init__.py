"""The REST API at /api/v1/ (Django REST framework): reports, their actions, the geocoder and
the locate endpoint, documented by the OpenAPI schema at /api/schema/.

Owns serializers, views, filters, output writers and renderers. Writes go through the services
of ``reports`` (and ``reports.staff.services`` for staff work); errors take the shape
``config.jsonapi`` gives every JSON surface. May import: ``reports`` (its core, ``delivery`` and
``staff``), ``authorities``, ``accounts``, ``config``; nothing in ``reports`` imports it.
"""
