"""Background work: each task takes ids (or nothing), calls one service, and is safe to repeat."""

from __future__ import annotations

from celery import shared_task

from . import delivery, followups, notifications, privacy, questionnaires, services
from .delivery import council_updates, status_sync


@shared_task(ignore_result=True)
def send_notification(notification_id: int) -> None:
    # No Celery retry: a failed send is rescheduled on its row and re-driven from there.
    notifications.notification_send(notification_id=notification_id)


@shared_task(ignore_result=True)
def send_due_notifications() -> int:
    return notifications.notifications_send_due()


@shared_task(ignore_result=True)
def compose_daily_digests() -> int:
    return notifications.digests_compose()


@shared_task(ignore_result=True)
def expire_unconfirmed_reports() -> int:
    services.photo_discard_stale()
    return services.report_expire_unconfirmed()


@shared_task(ignore_result=True)
def deliver(delivery_id: int) -> str:
    # No Celery retry: a failed send is rescheduled on its row and re-driven from there.
    return delivery.delivery_send(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def deliver_update(update_delivery_id: int) -> str:
    # A citizen's update to the council; retried from its row, like deliver.
    return council_updates.update_delivery_send(update_delivery_id=update_delivery_id)


@shared_task(ignore_result=True)
def follow_up_filed_reports() -> int:
    # Woken after filings (reports.jobs.follow_ups_wake), and by beat every minute.
    return followups.reports_follow_up()


@shared_task(ignore_result=True)
def dispatch_deliveries() -> int:
    # Woken by new deliveries (reports.jobs.deliveries_wake): fans them out as deliver tasks.
    return delivery.deliveries_dispatch()


@shared_task(ignore_result=True)
def send_pending_deliveries() -> int:
    sent = delivery.deliveries_send_due().sent
    return sent + council_updates.update_deliveries_send_due().sent


@shared_task(ignore_result=True)
def sync_open311_status() -> int:
    return status_sync.open311_statuses_poll().moved


@shared_task(ignore_result=True)
def send_questionnaires() -> int:
    return questionnaires.questionnaires_send_due()


@shared_task(ignore_result=True)
def anonymise_inactive_accounts() -> tuple[int, int]:
    return privacy.accounts_inactive_process()
