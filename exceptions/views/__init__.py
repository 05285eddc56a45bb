"""The case screens, one module each: the queue, the case page with its
actions, finance approvals.

Views only read (always through `restrict`) and call exceptions/services.py,
which decides what is allowed. A case outside the user's scope answers 403
with a plain message, for reads and actions alike; an unknown case is a 404.
"""
