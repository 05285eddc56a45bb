"""Who sees a case: every role's owner and colleague do, outsiders do not,
on the case page and in the API alike (the shared `people` of conftest)."""
import pytest

from controltower.models import Role
from tests.exceptions.factories import CaseFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", list(Role))
def test_owner_and_colleague_see_the_case_the_outsider_does_not(client, people, role):
    case = CaseFactory(location=people.store)
    cast = people[role]
    for person in (cast.owner, cast.colleague):
        client.force_login(person)
        assert client.get(f"/cases/{case.pk}/").status_code == 200
        assert client.get(f"/api/v1/cases/{case.pk}").status_code == 200
    if cast.outsider is not None:
        client.force_login(cast.outsider)
        assert client.get(f"/cases/{case.pk}/").status_code == 404
        assert client.get(f"/api/v1/cases/{case.pk}").status_code == 404


def test_a_person_with_no_role_sees_no_case(client, people):
    case = CaseFactory(location=people.store)
    client.force_login(people.nobody)
    assert client.get(f"/cases/{case.pk}/").status_code == 404
    assert client.get(f"/api/v1/cases/{case.pk}").status_code == 404
