"""The demo retailer: a Django app on top of the apps it composes (inventory's
master data, ledger and snapshots; controltower's people and tokens;
rollout's waves and its simulator), apart from the kernel like controltower.web. It imports
them; no app imports it.

`retailer.load_demo()` is the one entry point (`manage.py load_demo`,
`make demo`): its full size is the simulator's retailer (`simulated`, the
one user of rollout.simulator above the layers), its small size the tests'
hand-written story (`masterdata`, `activity`, `rollout`, `journeys`); both
have the logins and tokens of `people`. Nothing is imported here: Django
imports this package while the app registry is still loading.
"""
