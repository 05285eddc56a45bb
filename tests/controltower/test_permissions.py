"""controltower.permissions: every role x every predicate, from one table.

A change to who may do what shows here as a changed row; the services,
views, forms, API and navigation ask these predicates, so the table is the
rule everywhere."""
import pytest
from django.contrib.auth import get_user_model

from controltower import permissions
from controltower.models import Role
from controltower.tokens import SourceClient
from tests.controltower.factories import UserFactory, make_user
from tests.inventory.factories import (
    LocationFactory,
    RegionFactory,
    SourceSystemFactory,
)

pytestmark = pytest.mark.django_db

PREDICATES = ("may_work_cases", "may_be_assigned", "may_approve_adjustments", "may_load_master_data",
              "may_see_rejections", "may_replay_rejections")
# role: what each predicate answers, in PREDICATES order.
TABLE = {
    Role.STORE_MANAGER:     (True,  True,  False, False, False, False),
    Role.REGIONAL_OPS:      (True,  True,  False, False, False, False),
    Role.PLANNER:           (True,  True,  False, False, True,  False),
    Role.FINANCE:           (True,  True,  True,  False, True,  False),
    Role.INTEGRATION_ADMIN: (True,  True,  False, True,  True,  True),
    Role.PMO:               (False, False, False, False, True,  False),
    Role.EXECUTIVE:         (False, False, False, False, True,  False),
    Role.ADMIN:             (True,  True,  True,  True,  True,  True),
}


def test_the_table_names_every_role():
    assert set(TABLE) == set(Role)


@pytest.mark.parametrize("role", list(TABLE))
@pytest.mark.parametrize("index,predicate", list(enumerate(PREDICATES)))
def test_role_x_predicate(role, index, predicate):
    user = make_user(role)
    assert getattr(permissions, predicate)(user) is TABLE[role][index], (role, predicate)


@pytest.mark.parametrize("predicate", PREDICATES)
def test_nobody_without_a_role_may_anything(predicate):
    no_profile = UserFactory()
    assert getattr(permissions, predicate)(no_profile) is False
    assert getattr(permissions, predicate)(SourceClient(SourceSystemFactory())) is False


@pytest.mark.parametrize("predicate", PREDICATES)
def test_a_superuser_is_an_admin(predicate):
    assert getattr(permissions, predicate)(get_user_model().objects.create_superuser("root", "r@x.test", "pw"))


def test_an_inactive_person_is_never_assigned():
    user = make_user(Role.FINANCE)
    user.is_active = False
    assert permissions.may_work_cases(user) and not permissions.may_be_assigned(user)


def test_role_sets_match_the_predicates():
    """The sets the navigation registers its screens with say the same as the predicates."""
    for role, answers in TABLE.items():
        assert (role in permissions.CASE_WORKERS) is answers[0]
        assert (role in permissions.APPROVERS) is answers[2]
        assert (role in permissions.MASTER_DATA_LOADERS) is answers[3]


def test_assignable_people_are_the_case_workers_who_see_the_locations():
    north, south = RegionFactory(code="N"), RegionFactory(code="S")
    here, there = LocationFactory(code="N1", region=north), LocationFactory(code="S1", region=south)
    expected = {
        make_user(Role.STORE_MANAGER, [here], username="sm-here"),
        make_user(Role.REGIONAL_OPS, region=north, username="ops-north"),
        make_user(Role.PLANNER, username="planner"),
        make_user(Role.FINANCE, username="finance"),
        make_user(Role.INTEGRATION_ADMIN, username="integration"),
        make_user(Role.ADMIN, username="admin"),
    }
    make_user(Role.STORE_MANAGER, [there], username="sm-there")
    make_user(Role.REGIONAL_OPS, region=south, username="ops-south")
    make_user(Role.PMO, username="pmo")
    make_user(Role.EXECUTIVE, username="executive")
    inactive = make_user(Role.FINANCE, username="gone")
    inactive.is_active = False
    inactive.save()
    offered = list(permissions.assignable_people([here]))
    assert set(offered) == expected and len(offered) == len(expected)
    assert all(permissions.may_be_assigned(person) for person in offered)
