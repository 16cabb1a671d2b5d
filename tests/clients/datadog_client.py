"""Datadog's official Python client against orgmint, unchanged but for the host.

Run by tests/tests/e2e/http.rs with ORGMINT_URL, DD_API_KEY and DD_APP_KEY set. Exits non-zero (an assertion
or the client's own type checking) when anything a Datadog user relies on is off.
"""

import json
import os

from datadog_api_client import ApiClient, Configuration
from datadog_api_client.exceptions import ForbiddenException, ApiException
from datadog_api_client.v1.api.organizations_api import OrganizationsApi
from datadog_api_client.v1.model.organization_billing import OrganizationBilling
from datadog_api_client.v1.model.organization_create_body import OrganizationCreateBody
from datadog_api_client.v1.model.organization_create_response import OrganizationCreateResponse
from datadog_api_client.v1.model.organization import Organization
from datadog_api_client.v1.model.organization_subscription import OrganizationSubscription


def client(api_key, app_key):
    config = Configuration(host=os.environ["ORGMINT_URL"])
    config.api_key["apiKeyAuth"] = api_key
    config.api_key["appKeyAuth"] = app_key
    return ApiClient(config)


def create(api_key, app_key, name, subscription="pro"):
    with client(api_key, app_key) as api_client:
        body = OrganizationCreateBody(
            billing=OrganizationBilling(type="parent_billing"),
            name=name,
            subscription=OrganizationSubscription(type=subscription),
        )
        return OrganizationsApi(api_client).create_child_org(body=body)


def check(response, name):
    assert isinstance(response, OrganizationCreateResponse), type(response)
    assert len(response.api_key.key) == 32 and len(response.application_key.hash) == 40
    assert isinstance(response.api_key.created, str) and isinstance(response.api_key.created_by, str)
    org = response.org
    assert org.name == name, org.name
    assert isinstance(org.public_id, str) and len(org.public_id) == 12
    assert isinstance(org.created, str) and org.created.endswith("Z")
    assert org.billing.type == "parent_billing"
    assert isinstance(org.trial, bool)
    assert org.settings.saml.enabled is False
    assert str(org.settings.saml_autocreate_access_role) == "st"
    assert str(response.user.access_role) == "adm"
    assert response.user.handle == response.api_key.created_by == response.application_key.owner


def body_of(error):
    """The client hands the error body over parsed or as text, depending on its version."""
    return error.body if isinstance(error.body, dict) else json.loads(error.body)


def main():
    api_key, app_key = os.environ["DD_API_KEY"], os.environ["DD_APP_KEY"]
    child = create(api_key, app_key, "Child via client", subscription="trial")
    check(child, "Child via client")
    assert child.org.trial is True and child.org.subscription.type == "trial"

    # The child's keys work at once: the child creates its own child.
    grandchild = create(child.api_key.key, child.application_key.hash, "Grandchild")
    check(grandchild, "Grandchild")
    assert grandchild.org.trial is False

    # Errors arrive as the client's typed exceptions with Datadog's envelope.
    try:
        create(api_key, "0" * 40, "Nope")
        raise AssertionError("an unknown application key was accepted")
    except ForbiddenException as e:
        assert e.status == 403 and body_of(e) == {"errors": ["Forbidden"]}, e.body
    try:
        create("f" * 32, app_key, "Nope")
        raise AssertionError("an unknown API key was accepted")
    except ApiException as e:
        assert e.status == 403 and body_of(e) == {"errors": ["Forbidden"]}, e.body
    # A name over 32 characters is refused, by the client before sending or by orgmint with a 400.
    try:
        create(api_key, app_key, "x" * 33)
        raise AssertionError("a 33-character name was accepted")
    except Exception as e:  # the client's own validation error type varies by version
        assert "32" in str(e), e

    # The organizations around the create: list_orgs, get_org, update_org (Datadog has no delete).
    with client(api_key, app_key) as api_client:
        orgs = OrganizationsApi(api_client)
        listed = orgs.list_orgs()
        assert [o.public_id for o in listed.orgs] == [child.org.public_id], listed
        got = orgs.get_org(public_id=child.org.public_id)
        assert got.org.public_id == child.org.public_id and got.org.name == "Child via client", got
        updated = orgs.update_org(public_id=child.org.public_id, body=Organization(name="Renamed child"))
        assert updated.org.name == "Renamed child", updated
        assert orgs.get_org(public_id=child.org.public_id).org.name == "Renamed child"
        try:
            orgs.get_org(public_id=grandchild.org.public_id)
            raise AssertionError("a grandchild was read through its grandparent")
        except ApiException as e:
            assert e.status == 403 and body_of(e) == {"errors": ["Forbidden"]}, e.body

    print(json.dumps({"child": child.org.public_id, "grandchild": grandchild.org.public_id}))


if __name__ == "__main__":
    main()
