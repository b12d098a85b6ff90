"""The council staff dashboard: the queue, the work page, bulk actions, SLA and the audit log.

Everything a staff page reads starts from `selectors.reports_visible_to(user)`, so a report of
another authority is never found, whatever the URL, filter or id.
"""
