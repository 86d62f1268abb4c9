"""The original django-akamai's public API, whole: names, exceptions and return values."""

from __future__ import annotations

import pytest


def test_the_originals_exceptions_import_from_purge():
    from django_akamai import exceptions
    from django_akamai.purge import (
        NoAkamaiPasswordProvidedException,
        NoAkamaiUsernameProvidedException,
    )

    assert NoAkamaiUsernameProvidedException is exceptions.NoAkamaiUsernameProvidedException
    assert NoAkamaiPasswordProvidedException is exceptions.NoAkamaiPasswordProvidedException


def test_no_credentials_raises_the_originals_exceptions(settings):
    from django_akamai.purge import (
        NoAkamaiPasswordProvidedException,
        NoAkamaiUsernameProvidedException,
        PurgeRequest,
    )

    with pytest.raises(NoAkamaiUsernameProvidedException):
        PurgeRequest()
    with pytest.raises(NoAkamaiPasswordProvidedException):
        PurgeRequest(username="ccu-user")


@pytest.mark.parametrize("value", [12345, 1.5, None, object()])
def test_add_raises_a_type_error_for_what_it_cannot_purge(akamai_emulator, value):
    from django_akamai.purge import PurgeRequest

    with pytest.raises(TypeError):
        PurgeRequest().add(value)


@pytest.mark.django_db(transaction=True)
def test_purge_request_send_returns_djangos_receiver_response_pairs(akamai_emulator):
    from django_akamai.signals import purge_now, purge_request

    [(receiver, answers)] = purge_request.send("https://www.example.com/sent")
    assert receiver is purge_now
    [answer] = answers
    assert answer["httpStatus"] == 201 and answer["purgeId"]
    assert akamai_emulator.accepted_objects() == ["https://www.example.com/sent"]
