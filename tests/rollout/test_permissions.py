"""The rollout predicates of controltower.permissions, every role from one table."""
import pytest

from controltower import permissions
from controltower.models import Role
from tests.controltower.factories import make_user

pytestmark = pytest.mark.django_db

# role: may_manage_rollout, may_decide_go_no_go, and the role it may sign off as (None: none).
TABLE = {
    Role.STORE_MANAGER:     (False, False, Role.STORE_MANAGER),
    Role.REGIONAL_OPS:      (False, False, Role.REGIONAL_OPS),
    Role.PLANNER:           (False, False, None),
    Role.FINANCE:           (False, False, Role.FINANCE),
    Role.INTEGRATION_ADMIN: (False, False, Role.INTEGRATION_ADMIN),
    Role.PMO:               (True,  True,  None),
    Role.EXECUTIVE:         (False, True,  None),
    Role.ADMIN:             (True,  False, None),
}


def test_the_table_names_every_role():
    assert set(TABLE) == set(Role)


@pytest.mark.parametrize("role", list(TABLE))
def test_who_may_do_what_in_the_rollout(role):
    user = make_user(role)
    manages, decides, signs_as = TABLE[role]

    assert permissions.may_manage_rollout(user) is manages
    assert permissions.may_decide_go_no_go(user) is decides
    assert {other for other in Role if permissions.may_sign_off(user, other)} == ({signs_as} if signs_as else set())
