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
# sender=Report, report=Report (its row locked), count=int: a "me too" was added; count is the
# report's supports now
report_supported = Signal()
# Account care (reports.privacy). sender=User, user=User, export=reports.privacy.DataExport:
# add your sections (and files) of the person's data to their download.
personal_data_requested = Signal()
# sender=User, user=User, erase=bool: the person's name is to be hidden everywhere (erase=False)
# or their personal data erased (erase=True); sent inside the transaction that does it.
personal_data_anonymised = Signal()
