"""The demo retailer: a Django app on top of the apps it composes (inventory's
master data, ledger and snapshots; controltower's people and tokens; soon
rollout's waves), apart from the kernel like controltower.web. It imports
them; no app imports it.

`retailer.load_demo()` is the one entry point (`manage.py load_demo`,
`make demo`); `masterdata`, `people` and `activity` hold its
parts, ready to grow into the simulator. Nothing is imported here: Django
imports this package while the app registry is still loading.
"""
