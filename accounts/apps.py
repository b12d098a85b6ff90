from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from .models import ApiClient, User
        from .services import api_keys_forget

        # A key revoked, re-scoped or whose user is deactivated here stops working here at once
        # (other processes: within FIXPOINT_API_KEY_CACHE_SECONDS).
        for signal in (post_save, post_delete):
            for model in (ApiClient, User):
                signal.connect(
                    api_keys_forget, sender=model, dispatch_uid=f"keys-{signal}-{model.__name__}"
                )
