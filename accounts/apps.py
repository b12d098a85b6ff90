from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext_lazy as _


def keep_language(sender: object, request: HttpRequest | None, user: Any, **kwargs: object) -> None:
    """Signed up or logged in: remember the language the page was read in, unless one was chosen."""
    from .middleware import remember_language
    from .services import user_keep_language

    if request is not None:
        user_keep_language(user=user, language=translation.get_language() or "")
        if user.language:
            translation.activate(user.language)  # what the rest of this request says, too
            remember_language(request, user.language)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from allauth.account.signals import user_signed_up
        from django.contrib.auth.signals import user_logged_in
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
        user_logged_in.connect(keep_language, dispatch_uid="accounts-language-login")
        user_signed_up.connect(keep_language, dispatch_uid="accounts-language-signup")
