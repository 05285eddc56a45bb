"""The demo retailer: a Django app beside the apps it composes (inventory's
master data, ledger and snapshots; controltower's people and tokens; soon
rollout's waves). It imports them; no product app imports it.

`demo.retailer.load_demo()` is the one entry point (`manage.py load_demo`,
`make demo`); `demo.masterdata`, `demo.people` and `demo.activity` hold its
parts, ready to grow into the simulator. Nothing is imported here: Django
imports this package while the app registry is still loading.
"""
