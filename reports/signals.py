"""What the reports app announces. Higher apps (gamification) listen in their AppConfig.ready.

Both are sent inside the transaction that made the change, so a listener's own writes commit or
roll back with it; a listener with effects outside the process must use transaction.on_commit.
"""

from django.dispatch import Signal

# sender=Report, report=Report, change=ReportStateChange (also sent for the initial state),
# created=bool (True only when sent by report_create: the report row is new in this transaction)
report_state_changed = Signal()
# sender=ReportUpdate, update=ReportUpdate
report_update_added = Signal()
