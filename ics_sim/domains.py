"""Care domains and levels: the fixed vocabulary of the model (MODEL.md sections 2-3)."""

from __future__ import annotations

#: Care domains, in array order. Need, spending and delivery are kept per domain.
DOMAINS: tuple[str, ...] = (
    "acute",  # acute hospital care
    "primary_community",  # primary and community care
    "mental_health",
    "social_care",  # adult social care
    "prevention",  # prevention and wider determinants
)
ACUTE, PRIMARY, MENTAL, SOCIAL, PREVENTION = range(len(DOMAINS))
N_DOMAINS = len(DOMAINS)

#: Domains funded from the NHS allocation and from council budgets.
NHS_DOMAINS = (ACUTE, PRIMARY, MENTAL, SOCIAL, PREVENTION)
COUNCIL_DOMAINS = (SOCIAL, PREVENTION)

LEVELS = ("system", "place", "neighbourhood")

GOVERNANCE_FORMS = (
    "consultative_forum",
    "individual_executive",
    "committee",
    "joint_committee",
    "lead_provider",
)
DELEGATION_RULES = ("central", "fixed", "subsidiarity", "earned_autonomy")
ALLOCATION_RULES = ("per_head", "need_weighted", "need_weighted_hi")
DECISION_RULES = ("consensus", "majority", "supermajority", "weighted", "lead_decides")
CHAIRS = ("independent", "icb")
