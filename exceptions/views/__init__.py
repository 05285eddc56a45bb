"""The case screens, one module each: the queue, the case page with its
actions, finance approvals.

Views only read (always through `.restrict(user)`) and call the case
services (exceptions/services/), which decide what is allowed. A case outside the
user's scope is not found: 404 with a plain message, for reads and actions
alike, the same answer as for an unknown case and as the API's. A case in
scope that the role may not change answers 403.
"""
