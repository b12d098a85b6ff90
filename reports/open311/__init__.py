"""Open311 GeoReport v2 at /open311/v2/, JSON and XML, with the extensions real clients use.

Endpoints (format by extension, ``.json`` or ``.xml``): ``discovery``, ``services``
(``?lat=&long=``: only what is offered there), ``services/{service_code}`` (alias
``service/{service_code}``), ``GET``/``POST requests``, ``requests/{service_request_id}``,
``tokens/{token}`` and mySociety's ``servicerequestupdates`` (``GET`` and ``POST``).

Identifiers: ``service_code`` is the category's slug, ``service_request_id`` the report's public
reference (``ref``); both are strings. A report is created at once, so a token is the
``service_request_id`` itself and ``tokens/{token}`` resolves it. ``update_id`` is the id of the
report's state-change row, or ``comment-<id>`` for a citizen's update passed on by the account that
filed the report (``POST servicerequestupdates`` from a key that is not the authority's staff).

Fixpoint states and Open311 (``detailed_status`` uses mySociety's extended vocabulary, the one
``servicerequestupdates`` speaks both ways):

=================  ========  ============================  ============================
Fixpoint state     status    detailed_status (out)         also accepted in (any case)
=================  ========  ============================  ============================
unconfirmed        never listed (not public)
open               open      OPEN                          OPEN, REOPEN
verified           open      INVESTIGATING                 INVESTIGATING, VERIFIED
in_progress        open      IN_PROGRESS                   IN_PROGRESS, ACTION_SCHEDULED
fixed              closed    FIXED                         FIXED
closed             closed    CLOSED                        CLOSED, NO_FURTHER_ACTION
duplicate          closed    DUPLICATE                     (refused: needs the original)
not_responsible    closed    NOT_COUNCILS_RESPONSIBILITY   NOT_COUNCILS_RESPONSIBILITY,
                                                           NOT_RESPONSIBLE, INTERNAL_REFERRAL
spam               never listed (not public)
=================  ========  ============================  ============================

``status_notes`` is the public note of the report's latest state change, or the state's name when
that change had none. Reporters' names, e-mail addresses and phone numbers are never output.

May import: the core of ``reports``, ``authorities``, ``accounts``, ``config``. The core imports
only ``states`` (the mapping above), which the Open311 delivery channel and status poll share.
"""
