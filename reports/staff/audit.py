"""Moved to ``reports.audit`` (the core writes audit rows too); kept for code written before."""

from reports.audit import audit_record, client_ip

__all__ = ["audit_record", "client_ip"]
