"""Exception cases, one module per concern:

- routing: which team owns a new case, and its SLA policy's clock started;
- sla: the one SLA clock, where a case stands against it, and the escalation sweep;
- mail: the sweep's mail to a case's team, recorded and sent by a worker, once;
- sync: findings -> cases (open, refresh, clear, reopen), for the reconciliation jobs;
- actions: what people do with a case, and which actions they may take now;
- adjustments: corrective adjustments, and finance's approval of them;
- duplicates: the verdict on a suspected duplicate (reverse, or explain);
- queries: reads for the screens.

changes holds what they share: the role and scope check, the statuses an
action starts from, the conditional move and the one case-history writer.
Callers import from the module of the concern.
"""
