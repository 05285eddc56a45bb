"""What a person may do, by role: one predicate per rule.

Which screens a role sees is declared once, per screen, in
controltower.navigation (from the role sets below); the predicates here
are for what a person does on them.

Services check these before they change anything; views, forms, the API,
templates and the navigation ask the same predicates to decide what to
offer. Nothing else names a list of roles. Which *locations* a person sees
is the other half of every rule and lives in controltower.scoping.

The kernel knows roles only: a rule that needs the domain (what a source
system may load, which status allows which action) stays in its app and
calls the predicate for the person's part (e.g. inventory.lanes for master
data, exceptions.services.actions.allowed_actions for a case). The sign-offs of the
rollout gates (issue 10) are meant to be asked here too.
"""
from django.contrib.auth import get_user_model

from .models import Role
from .scoping import ESTATE_ROLES, people_seeing, role_of

# The roles whose teams are routed cases and work them in the queue.
CASE_WORKERS = frozenset({
    Role.STORE_MANAGER, Role.REGIONAL_OPS, Role.PLANNER, Role.FINANCE, Role.INTEGRATION_ADMIN, Role.ADMIN,
})
# Who reads the case queue: the case workers, and the PMO and the executive,
# whose dashboards' case counts open it (they act on no case).
CASE_READERS = CASE_WORKERS | {Role.PMO, Role.EXECUTIVE}
# Who investigates stock and value variances on the variances screen.
VARIANCE_READERS = frozenset({Role.PLANNER, Role.FINANCE, Role.ADMIN})
# Who watches the feeds on integration health: the integration admin, and
# the planner, who reads a variance's rejected events (replays are
# MASTER_DATA_LOADERS').
FEED_WATCHERS = frozenset({Role.INTEGRATION_ADMIN, Role.PLANNER, Role.ADMIN})
# The tills' totals per store-day beside the ERP's postings (Store-day sales).
SALES_CHECK_READERS = frozenset({Role.FINANCE, Role.INTEGRATION_ADMIN, Role.ADMIN})
# Finance approves corrective adjustments above the approval threshold.
APPROVERS = frozenset({Role.FINANCE, Role.ADMIN})
# People who load locations, SKUs and PO lines (source systems: inventory.lanes).
MASTER_DATA_LOADERS = frozenset({Role.ADMIN, Role.INTEGRATION_ADMIN})
# The PMO runs the rollout: programs, waves, gates, cutover dates, waivers.
ROLLOUT_MANAGERS = frozenset({Role.PMO, Role.ADMIN})
# The executive makes the go/no-go call, and the PMO records it with them.
GO_NO_GO_DECIDERS = frozenset({Role.EXECUTIVE, Role.PMO})
# The roles that sign off a gate for their area: store ops (regional ops
# lead, store manager), finance, IT (integration admin). The training lead
# signs as regional ops: store staff training is run by the regional ops
# leads, and no role of its own is needed for one sign-off.
SIGN_OFF_ROLES = frozenset({Role.REGIONAL_OPS, Role.STORE_MANAGER, Role.FINANCE, Role.INTEGRATION_ADMIN})
# Who follows the rollout on its board: the PMO, the executive, and the leads
# who sign off (store managers sign on the wave page, reached from their work,
# and have no board of their own).
# The region board is the regional ops lead's main screen; the admin looks at any region's.
REGION_BOARD_READERS = frozenset({Role.REGIONAL_OPS, Role.ADMIN})
ROLLOUT_FOLLOWERS = ROLLOUT_MANAGERS | GO_NO_GO_DECIDERS | {Role.REGIONAL_OPS, Role.FINANCE, Role.INTEGRATION_ADMIN}
# Who follows cross-channel journeys (orders, returns, promotions,
# replenishments) on their screens, in their scope: the people who work
# their stuck cases and those whose dashboards' journey KPIs link to them.
JOURNEY_FOLLOWERS = frozenset({
    Role.STORE_MANAGER, Role.REGIONAL_OPS, Role.PLANNER, Role.FINANCE, Role.PMO, Role.EXECUTIVE, Role.ADMIN,
})
# Who watches the waves that went live on the hypercare dashboard: the
# executive (it is their main screen), the PMO and the admin.
# The audit trail (controltower.audit): its screen and GET /api/v1/audit.
AUDIT_READERS = frozenset({Role.ADMIN})
HYPERCARE_WATCHERS = frozenset({Role.EXECUTIVE, Role.PMO, Role.ADMIN})
# Who administers the case teams (their addresses, and the alert channels of
# each team); everyone edits their own alert channels.
TEAM_ADMINISTRATORS = frozenset({Role.ADMIN})


def may_work_cases(user) -> bool:
    """Acknowledge, assign, comment, wait, resolve, reopen and adjust the cases in scope."""
    return role_of(user) in CASE_WORKERS


def may_administer_teams(user) -> bool:
    """Add and remove a team's alert channels."""
    return role_of(user) in TEAM_ADMINISTRATORS


def may_be_assigned(user) -> bool:
    """Be given a case (that this person can see: controltower.scoping)."""
    return user.is_active and may_work_cases(user)


def may_approve_adjustments(user) -> bool:
    """Approve or reject a corrective adjustment waiting for finance."""
    return role_of(user) in APPROVERS


def may_load_master_data(user) -> bool:
    """A person who loads locations, SKUs and PO lines."""
    return role_of(user) in MASTER_DATA_LOADERS


def may_manage_rollout(user) -> bool:
    """Create and change programs, waves and gates; schedule cutovers; ask for and approve waivers."""
    return role_of(user) in ROLLOUT_MANAGERS


def may_decide_go_no_go(user) -> bool:
    """Record the go/no-go decision of a wave's cutover gate."""
    return role_of(user) in GO_NO_GO_DECIDERS


def may_sign_off(user, role) -> bool:
    """Sign off a gate for `role`: a person signs for their own role only
    (rollout.gates also asks that the wave is in their scope)."""
    return role in SIGN_OFF_ROLES and role_of(user) == role


def may_see_rejections(user) -> bool:
    """Rejected events name no trusted location (an unknown one is a common
    cause), so only people who see the whole estate see them."""
    return role_of(user) in ESTATE_ROLES


def may_replay_rejections(user) -> bool:
    """Post kept rejections again: the people who fix the master data behind
    them (a replay writes to the ledger)."""
    return role_of(user) in MASTER_DATA_LOADERS


def may_open_documents(user) -> bool:
    """Open a document a source sent that the tower refused whole: it may hold
    anything the source sent, so the people who fix integrations only."""
    return role_of(user) in MASTER_DATA_LOADERS


def assignable_people(locations):
    """The active people who may be given cases of `locations` (a queryset or
    list of locations): case workers who see the whole estate, the store
    managers of those locations and the regional ops of their regions. The
    shortlist the forms offer; actions.assign asks may_be_assigned again,
    with the case's scope."""
    return (
        get_user_model().objects.filter(people_seeing(locations), profile__role__in=CASE_WORKERS, is_active=True)
        .distinct().order_by("username")
    )


def may_read_audit(user) -> bool:
    return role_of(user) in AUDIT_READERS
