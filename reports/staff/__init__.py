"""The council staff dashboard: the queue, the work page, bulk actions, SLA and the audit log.

Everything a staff page reads starts from `reports.selectors.reports_visible_to(user)`, so a
report of another authority is never found, whatever the URL, filter or id; who may do what is
`authorities.permissions`. May import: the core of ``reports`` and ``reports.delivery``,
``authorities``, ``accounts``, ``config``; the core of ``reports`` imports nothing from here
(an import contract in pyproject.toml checks it).
"""
