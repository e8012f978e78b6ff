"""The configuration schema: every parameter with its unit, allowed range, meaning and source.

The YAML files in ``configs/`` fill these dataclasses in; :mod:`ics_sim.config.validate` checks a
composed configuration against them (unknown keys, types, ranges) and returns typed objects. The
same metadata feeds the ODD parameter tables and the sensitivity-analysis parameter space, so a
parameter is documented exactly once: here.

Each numeric field is declared with :func:`param`, whose metadata holds ``unit``, ``range``
(inclusive bounds), ``help`` (a plain-language tip) and ``source``. A parameter whose value is
not known well enough to trust a conclusion that hangs on it also declares ``uncertain=(low,
high)``, the range over which the robustness analysis draws it, with a short ``label`` for the
sentences that report where a conclusion flips (:func:`uncertain_parameters`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ics_sim.domains import (
    ALLOCATION_RULES,
    CHAIRS,
    DECISION_RULES,
    DELEGATION_RULES,
    GOVERNANCE_FORMS,
)

ASSUMPTION = "modelling assumption (ODD section 7); varied in sensitivity analysis"


def param(
    default: Any,
    unit: str,
    lo: float | None = None,
    hi: float | None = None,
    help: str = "",
    source: str = ASSUMPTION,
    choices: tuple[str, ...] | None = None,
    uncertain: tuple[float, float] | None = None,
    label: str = "",
) -> Any:
    """Declare a parameter with its unit, inclusive range, meaning and source; ``uncertain`` (a
    range inside the allowed one) and ``label`` (a few plain words) mark it as an uncertain
    parameter of the robustness analysis."""
    if uncertain is not None:
        ulo, uhi = uncertain
        if not ((lo is None or lo <= ulo) and ulo < uhi and (hi is None or uhi <= hi)):
            raise ValueError(f"uncertain range {uncertain} must lie inside the allowed range ({lo}, {hi})")
    meta = {"unit": unit, "range": (lo, hi), "help": help, "source": source, "choices": choices,
            "uncertain": uncertain, "label": label or help}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: default.copy(), metadata=meta)
    return field(default=default, metadata=meta)


def _per_domain(values: tuple[float, float, float, float, float], unit: str, lo, hi, help, source=ASSUMPTION):
    """A factory for per-domain parameter blocks (one field per care domain)."""

    def make() -> PerDomain:
        return PerDomain(*values)

    return field(
        default_factory=make,
        metadata={"unit": unit, "range": (lo, hi), "help": help, "source": source, "choices": None},
    )


def uncertain_parameters(cls: type | None = None, prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every parameter declared ``uncertain``, by dotted key: its range to draw from (``low``,
    ``high``), ``label``, ``unit``, ``help``, whether it is a whole number (``integer``) and its
    default. Declared once, here; the robustness analysis reads it (:mod:`ics_sim.analysis.robustness`)."""
    import dataclasses
    import typing

    cls = Config if cls is None else cls
    out: dict[str, dict[str, Any]] = {}
    hints = typing.get_type_hints(cls)
    defaults = cls()
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            out.update(uncertain_parameters(tp, key + "."))
        elif f.metadata.get("uncertain"):
            lo, hi = f.metadata["uncertain"]
            out[key] = {"low": lo, "high": hi, "label": f.metadata["label"], "unit": f.metadata["unit"],
                        "help": f.metadata["help"], "integer": tp is int, "default": getattr(defaults, f.name)}
    return out


@dataclass
class PerDomain:
    """One value per care domain (see :data:`ics_sim.domains.DOMAINS`)."""

    acute: float = 0.0
    primary_community: float = 0.0
    mental_health: float = 0.0
    social_care: float = 0.0
    prevention: float = 0.0

    def as_tuple(self) -> tuple[float, ...]:
        return (
            self.acute,
            self.primary_community,
            self.mental_health,
            self.social_care,
            self.prevention,
        )


@dataclass
class PlaceSpec:
    """A place of the synthetic system (an upper-tier council footprint)."""

    name: str = "place"
    population: float = param(300_000, "people", 1_000, 20_000_000, "resident population")
    mean_imd_rank: float = param(
        0.5, "rank percentile", 0.0, 1.0, "population-weighted national deprivation rank (0 = most deprived)"
    )
    share_65plus: float = param(0.185, "share", 0.0, 1.0, "share of residents aged 65+", "Census 2021: England 18.4%")
    neighbourhoods: int = param(8, "count", 1, 500, "number of neighbourhoods (PCN footprints)")
    code: str = ""


@dataclass
class SystemConfig:
    """Which system to simulate and its money (MODEL.md sections 2-3, 8)."""

    kind: str = param("synthetic", "-", help="synthetic | icb | england | named", choices=("synthetic", "icb", "england", "named"))
    name: str = "synthetic"
    icb: str = ""  # ONS code, ODS code or name, for kind=icb
    places: list[PlaceSpec] = field(default_factory=list)
    geography_seed: int = param(
        1, "-", 0, 2**31 - 1, "seed of the synthetic geography; fixed so runs differ only in process noise"
    )
    deprivation_spread: float = param(
        0.25, "rank percentile", 0.0, 0.5, "s.d. of neighbourhood deprivation rank around its place mean",
        "median within-place s.d. of national rank across England's 158 places (ics_sim/data/places.csv)",
    )
    need_index: float = param(
        1.0, "index (England = 1)", 0.5, 2.0, "NHS England overall need index of the system",
        "NHS England ICB need indices 2024/25: 0.83-1.25",
    )
    nhs_gbp_per_head: float = param(
        1732.0, "GBP per head per year", 500.0, 4000.0, "ICB core allocation per head at need index 1",
        "House of Commons Library, ICB allocations 2024/25: mean GBP 1,732 (range 1,480-1,986)",
    )
    council_social_care_gbp_per_head: float = param(
        360.0, "GBP per head per year", 0.0, 2000.0, "council adult social care net spending",
        "NHS Digital Adult Social Care Activity and Finance 2023/24: about GBP 21bn net for 57m people",
    )
    council_public_health_gbp_per_head: float = param(
        63.0, "GBP per head per year", 0.0, 500.0, "public health grant",
        "DHSC public health grant 2024/25: GBP 3.6bn",
    )
    vcse_external_gbp_per_head: float = param(
        6.0, "GBP per head per year", 0.0, 200.0, "VCSE income for health and care from outside the ICS",
        "NCVO Civil Society Almanac (order of magnitude); assumption",
    )


@dataclass
class FinanceConfig:
    """Budgets and national commitments (MODEL.md sections 3, 6.1)."""

    nhs_domain_shares: PerDomain = _per_domain(
        (0.52, 0.25, 0.145, 0.045, 0.04), "share of NHS allocation", 0.0, 1.0,
        "how an ICB's allocation is split across domains at the start",
        "NHS England allocations: mental health investment standard about 14.5%; BCF NHS minimum about 4.5%",
    )
    nhs_growth: float = param(0.02, "per year", -0.2, 0.2, "real growth of NHS allocations", "NHS long-term plan real growth about 2-3%")
    council_growth: float = param(0.02, "per year", -0.2, 0.2, "real growth of council budgets")
    mental_health_floor: float = param(
        0.135, "share of NHS spending", 0.0, 0.5, "mental health investment standard: ICB plans keep at least this share",
        "NHS England mental health investment standard",
    )
    pooled_council_share: float = param(
        0.15, "share", 0.0, 1.0, "share of council social care and public health money pooled under a pooled form (section 75)",
        "Better Care Fund: GBP 5.3bn pooled against a required GBP 3.8bn in 2015-16 (PAC, HC 807, 2014-15) and GBP 9.2bn "
        "against GBP 6.4bn in 2019-20, with adult social care spending about GBP 22bn a year: the council money in pooled "
        "budgets is about 15-20% of it (voluntary additions 5-10%). Evidence range 0.05-0.40; a few care trusts pool most",
        uncertain=(0.05, 0.4), label="share of council money pooled",
    )


@dataclass
class NeedConfig:
    """Need per neighbourhood and domain, and how it moves (MODEL.md sections 3, 6.2)."""

    gbp_per_head: PerDomain = _per_domain(
        (960.0, 480.0, 300.0, 520.0, 160.0), "GBP per head per year", 0.0, 10_000.0,
        "need at England-average deprivation and age, priced at reference unit cost",
        "spending per head divided by an assumed coverage of about 0.9; assumption",
    )
    deprivation_gradient: PerDomain = _per_domain(
        (0.25, 0.20, 0.35, 0.20, 0.40), "relative", 0.0, 0.9,
        "need is (1 + g) times average at the most deprived end and (1 - g) at the least",
        "NHS England need indices span about 0.8-1.25 between ICBs, wider between neighbourhoods",
    )
    age_gradient: PerDomain = _per_domain(
        (0.5, 0.4, 0.0, 1.2, 0.1), "relative per relative 65+ share", 0.0, 5.0,
        "elasticity of need to the share of people aged 65+",
    )
    hidden_share_base: float = param(0.04, "share", 0.0, 0.5, "share of need formal services do not see, least deprived")
    hidden_share_deprivation: float = param(
        0.16, "share", 0.0, 0.5, "extra hidden share at the most deprived end (excluded and under-served groups)",
        "Marmot et al. 2020; inclusion health literature; assumption",
    )
    hidden_domain_factor: PerDomain = _per_domain(
        (0.6, 1.0, 1.5, 1.0, 1.3), "relative", 0.0, 3.0, "hidden share relative to the neighbourhood's base, by domain"
    )
    growth: float = param(0.02, "per year", -0.1, 0.2, "growth of need (ageing, morbidity)", "ONS population projections; assumption")
    deprivation_drift: float = param(0.01, "per year", -0.1, 0.1, "extra need growth at the most deprived end")
    spill_over: float = param(
        0.25, "GBP acute per GBP unmet", 0.0, 2.0,
        "unmet social care and primary care need that turns into acute demand next month (delayed discharge)",
        "NHS England discharge data; assumption", uncertain=(0.1, 0.5), label="spill-over of unmet care into acute demand",
    )
    prevention_payoff: float = param(
        0.15, "share of need", 0.0, 0.9, "need avoided at full prevention coverage, relative to the reference", "assumption; see ODD"
    )
    prevention_lag_months: float = param(24.0, "months", 1.0, 240.0, "time constant of the lagged payoff from prevention")


@dataclass
class HealthConfig:
    """Health state and healthy life expectancy (MODEL.md sections 3, 6.6)."""

    hle_floor: float = param(40.0, "years", 0.0, 80.0, "HLE at health state 0")
    hle_span: float = param(40.0, "years", 1.0, 80.0, "HLE gained from health state 0 to 1")
    hle_most_deprived: float = param(
        51.7, "years", 30.0, 90.0,
        "HLE of the reference curve at rank 0.05, the midpoint of the most deprived decile (default run: fitted value)",
        "fitted by ics_sim.calibration to ONS HLE by IMD decile (England, males 2015-17) and its SII (2018-20); "
        "configs/health/calibrated.yaml. Schema default: the ONS decile-1 value",
    )
    hle_least_deprived: float = param(
        70.4, "years", 30.0, 90.0,
        "HLE of the reference curve at rank 0.95, the midpoint of the least deprived decile (default run: fitted value)",
        "fitted by ics_sim.calibration (as hle_most_deprived). Schema default: the ONS decile-10 value",
    )
    hle_concavity: float = param(
        0.0, "-", -5.0, 10.0,
        "concavity of the reference curve in deprivation rank: 0 = straight line; above 0 = steepest among the most deprived",
        "fitted by ics_sim.calibration (as hle_most_deprived): the ONS decile values are concave in rank. "
        "Schema default: the straight line of MODEL.md",
    )
    health_at_stake: float = param(
        12.0, "years of HLE per unit of G at average need", 0.0, 200.0,
        "scale of the health production function: HLE (years) that care buys per unit of G(coverage) in a "
        "neighbourhood of England-average need per head (ODD 7.4)",
        "docked to the mortality effect of NHS resources in Barr, Bambra and Whitehead 2014 (BMJ 348:g3231: 35 fewer "
        "male amenable deaths per 100,000 for about GBP 243 per head more a year by 2011, about 0.5 years of life "
        "expectancy, about 1 year of HLE at le_per_hle); range spans taking the 2011 or the decade-mean spending gap",
        uncertain=(9.0, 17.0), label="health bought per unit of care relative to need",
    )
    productivity_curvature: float = param(
        1.0, "-", 0.0, 5.0,
        "diminishing returns: elasticity of the marginal health gain of care with respect to coverage "
        "(G(c) = (c^(1-eta) - 1)/(1 - eta); 0 = linear, 1 = logarithmic)",
        "range from the mortality elasticities of English programme budgeting (Martin, Rice and Smith 2008; "
        "Claxton et al. 2015): the marginal product of spending falls as spending rises; assumption within it",
        uncertain=(0.5, 3.0), label="diminishing returns of care",
    )
    deprivation_productivity: float = param(
        0.15, "relative", 0.0, 0.6,
        "health at stake per unit of need is (1 + delta) times average at the most deprived end and (1 - delta) at "
        "the least (disease mix: care for conditions concentrated in deprived areas buys more health per pound)",
        "docked to Love-Koh, Cookson, Claxton and Griffin 2020 (Med Decis Making 40(2):170-182): 26% of the health "
        "effect of an NHS expenditure change accrues to the most deprived fifth, 14% to the least deprived fifth",
        uncertain=(0.05, 0.3), label="extra health at stake in deprived areas",
    )
    prevention_effect: float = param(0.08, "health state per unit coverage", 0.0, 1.0, "extra effect of lagged prevention coverage")
    coverage_reference: float = param(
        0.83, "share of need met", 0.1, 1.0,
        "status-quo coverage at the middle of the deprivation ranks, where the reference curve is in equilibrium "
        "(default run: fitted value)",
        "fitted by ics_sim.calibration so that the status quo does not drift from the ONS gradient; "
        "configs/health/calibrated.yaml. Schema default: the baseline's coverage in its first month",
    )
    coverage_reference_slope: float = param(
        0.0, "share of need met per unit rank", -1.0, 1.0,
        "change of the status-quo coverage from the most to the least deprived rank (default run: fitted value)",
        "fitted by ics_sim.calibration (as coverage_reference) so that the status quo's SII does not drift",
    )
    adjustment_months: float = param(60.0, "months", 1.0, 600.0, "time constant of health towards its equilibrium")
    domain_weights: PerDomain = _per_domain(
        (1.0, 1.0, 1.0, 0.8, 0.6), "relative", 0.0, 5.0, "weight of each domain's met need in health"
    )
    hrqol_good_health: float = param(
        0.95, "QALY weight", 0.0, 1.0, "health-related quality of life of a year lived in good health",
        "solved with hrqol_poor_health from Love-Koh et al. 2023 (PharmacoEconomics 41:831-841: the least deprived "
        "fifth lives 7.0 years longer and 11.1 more QALYs than the most deprived fifth), the ONS HLE and LE by decile "
        "(males 2015-17) and a population mean EQ-5D of about 0.85 (Szende, Janssen and Cabases 2014, England norms)",
    )
    hrqol_poor_health: float = param(
        0.46, "QALY weight", 0.0, 1.0, "health-related quality of life of a year lived in less than good health",
        "solved with hrqol_good_health (see there)",
    )
    le_per_hle: float = param(
        0.49, "years of LE per year of HLE", 0.0, 1.0,
        "slope of life expectancy on healthy life expectancy across deprivation (the reference LE curve, for QALYs)",
        "ONS health state life expectancies by IMD decile, England, males 2015-17: LE rises 9.3 years while HLE "
        "rises 18.7 across the deciles (least-squares slope 0.49)",
    )
    qalys_per_hle_year: float = param(
        2.2, "QALYs per year of HLE", 0.7, 4.7,
        "lifetime QALYs that come with each year of HLE that care adds (longer life and better quality in poor "
        "health as well as more years in good health)",
        "docked so that the marginal cost per QALY of a 1% NHS uplift is about Claxton et al.'s GBP 12,936 once "
        "health_at_stake matches the HLE effects of Barr et al. 2014; bounded below by the cross-section (0.72: "
        "Love-Koh et al. 2023's QALE gap of 11.1 over an ONS HLE gap of 15.4 between extreme fifths) and above by "
        "Claxton et al. 2015's ratio of QALYs to life years (most of their QALY effect is quality of life in illness; "
        "about 9.5) times le_per_hle; docs/design/health_and_money.md",
    )


@dataclass
class ObservationConfig:
    """How organisations see need (MODEL.md section 6.3)."""

    error_system: float = param(0.30, "log s.d.", 0.0, 2.0, "error of system-level estimates of neighbourhood need",
                                uncertain=(0.15, 0.5), label="error of the ICB's system-level view of need")
    error_place: float = param(0.14, "log s.d.", 0.0, 2.0, "error of place-level estimates",
                               uncertain=(0.07, 0.25), label="error of place-level views of need")
    error_neighbourhood: float = param(0.05, "log s.d.", 0.0, 2.0, "error of neighbourhood-level estimates (PCNs)")
    error_formula: float = param(
        0.10, "log s.d.", 0.0, 2.0,
        "error of the national need formula (weighted capitation) that need-weighted allocation divides money by",
        "Dixon et al. 2011 (BMJ 343:d6608): the person-based allocation formula predicts 77% of the variation in "
        "practice-level hospital costs and misses by 10% or more for about a third of practices (about 0.10 log s.d.); "
        "a PCN-sized neighbourhood is estimated at least as well. Evidence range 0.05-0.20",
        uncertain=(0.05, 0.2), label="error of the national need formula",
    )
    error_persistence: float = param(0.95, "per month", 0.0, 1.0, "month-to-month autocorrelation of estimation errors")
    reach_vcse: float = param(0.8, "share of hidden need", 0.0, 1.0, "hidden need a VCSE body sees", "NCF and Thriving places on VCSE reach",
                              uncertain=(0.5, 0.95), label="VCSE reach into hidden need")
    reach_healthwatch: float = param(0.5, "share of hidden need", 0.0, 1.0, "hidden need Healthwatch brings to a forum")
    reach_pcn: float = param(0.25, "share of hidden need", 0.0, 1.0, "hidden need a PCN sees")
    jsna_cycle_months: int = param(36, "months", 1, 120, "months between needs-assessment refreshes")
    jsna_sharpening: float = param(0.5, "share", 0.0, 1.0, "reduction of place-level error right after a JSNA refresh")
    perfect: bool = param(False, "-", help="verification switch: every organisation sees true need, hidden need included")


@dataclass
class InterestsConfig:
    """Preferences and interests of members (MODEL.md sections 3, 6.4)."""

    enabled: bool = param(True, "-", help="verification switch: false gives every member equal preferences")
    provider_own_service_bias: float = param(0.3, "log weight", 0.0, 3.0, "how strongly providers favour their own services",
                                             uncertain=(0.1, 0.6), label="providers' bias to their own services")
    council_visible_bias: float = param(
        0.5, "share", 0.0, 1.0, "share of hidden need a council discounts (democratic accountability favours visible need)"
    )
    council_social_care_bias: float = param(0.2, "log weight", 0.0, 3.0, "councils' priority for their social care duty")
    vcse_prevention_bias: float = param(0.3, "log weight", 0.0, 3.0, "VCSE priority for prevention and community support")
    local_priority_sd: float = param(
        0.15, "log weight", 0.0, 2.0, "s.d. of each place's own domain priorities (local preferences; Oates 1972)",
        uncertain=(0.05, 0.4), label="spread of places' own priorities",
    )
    strategy_regard: float = param(0.5, "share", 0.0, 1.0, "how far partners move their domain mix towards the ICP strategy ('have regard to')")


@dataclass
class MembershipConfig:
    """Optional members of place partnerships and the ICP (each governance form sets its default)."""

    vcse: bool = param(True, "-", help="VCSE bodies (and a system VCSE alliance at the ICP) are members")
    healthwatch: bool = param(True, "-", help="Healthwatch is a member (voice, no budget)")
    social_care: bool = param(True, "-", help="social care providers are represented")


@dataclass
class GovernanceConfig:
    """Structure of the place-based partnerships ("Thriving places", Table 2)."""

    form: str = param("committee", "-", choices=GOVERNANCE_FORMS, help="form of place-based partnership")
    cadence_months: int = param(2, "months", 1, 12, "months between partnership meetings")
    pooled: bool = param(False, "-", help="whether council money is pooled with the delegated NHS budget (section 75)")
    lead_provider: str = param("community_trust", "-", choices=("community_trust", "acute_trust", "mental_health_trust"))
    outcome_payment_share: float = param(
        0.0, "share of contract", 0.0, 1.0, "share of a lead provider's contract paid for outcomes rather than activity"
    )
    sro_appointment: str = param("icb", "-", choices=("icb", "joint"), help="whose executive is the SRO")
    advice_weight: float = param(0.3, "share", 0.0, 1.0, "weight an SRO or statutory body gives an advisory forum's shared view")
    ladder: bool = param(False, "-", help="partnerships move up a ladder of formality as trust grows")
    ladder_up_trust: float = param(0.7, "trust", 0.0, 1.0, "mean trust held for ladder_months before moving up")
    ladder_down_trust: float = param(0.3, "trust", 0.0, 1.0, "mean trust below which a partnership falls back")
    ladder_months: int = param(12, "months", 1, 120, "months a threshold must hold before the form changes")


@dataclass
class DecisionConfig:
    """How proposals become decisions (MODEL.md section 6.4)."""

    tolerance: float = param(
        0.0, "share of budget", 0.0, 1.0, "how far (half L1 distance) a decision may sit from a member's proposal for them to accept, at zero trust"
    )
    tolerance_trust: float = param(0.08, "share of budget", 0.0, 1.0, "extra tolerance at full trust in the proposer",
                                   uncertain=(0.04, 0.15), label="tolerance of a trusted proposer's plan")
    concession: float = param(0.35, "share", 0.0, 1.0, "how far members move their proposals towards the members' mean after a failed meeting")
    supermajority: float = param(2 / 3, "share of votes", 0.5, 1.0, "threshold of a supermajority")
    independent_chair_moderation: float = param(
        0.4, "share", 0.0, 1.0, "how far an independent chair pulls the opening proposal towards the members' mean"
    )
    preparation_months: int = param(
        1, "months", 0, 6, "months from April before the year's plan can be tabled (analysis and drafting)",
        uncertain=(0, 3), label="time to prepare the year's plan (months)",
    )
    signoff_months: int = param(
        1, "months", 0, 6,
        "months a statutory body with money in the pot but no hand in the plan takes to sign it off (its board; the ICB's assurance of a contract plan)",
    )
    stake_aversion: float = param(
        1.0, "share", 0.0, 1.0,
        "how much less a voter tolerates a plan for a pot holding its own money: tolerance x (1 - stake_aversion x its share of the pot)",
        "section 75 partners keep statutory accountability for the money they pool (NHS Act 2006 s75); assumption",
    )


@dataclass
class DelegationConfig:
    """Delegation (subsidiarity) rule (MODEL.md section 5)."""

    rule: str = param("subsidiarity", "-", choices=DELEGATION_RULES, help="how much of the NHS budget the ICB delegates to each place, and how that changes")
    share: float = param(0.5, "share of domain budget", 0.0, 1.0, "share of each NHS domain delegated to places (fixed)")
    max_share: float = param(0.8, "share", 0.0, 1.0, "largest share a place can hold (subsidiarity, earned autonomy)")
    initial_share: float = param(0.1, "share", 0.0, 1.0, "starting share under earned autonomy")
    step: float = param(0.1, "share per year", 0.0, 1.0, "change of share at an assurance review (earned autonomy)")
    assurance_tolerance: float = param(
        0.002, "share of need", 0.0, 0.1,
        "a place passes its assurance review if its unmet-need share rose by no more than this above its system's (earned autonomy)",
        "NHS Oversight Framework: places judged against peers; assumption",
    )
    delay_penalty: float = param(
        0.01, "share of need per month", 0.0, 0.1,
        "assurance score lost for each month a place's plan was agreed later than May (earned autonomy)", "assumption",
    )
    scale_elasticity: PerDomain = _per_domain(
        (0.08, 0.01, 0.04, 0.02, 0.0), "elasticity", 0.0, 0.5,
        "unit cost falls by this elasticity with the population a commissioner covers (economies of scale)",
        "hospital cost studies: modest scale economies; assumption",
    )
    cross_place_flow: PerDomain = _per_domain(
        (0.30, 0.03, 0.15, 0.05, 0.02), "share", 0.0, 1.0,
        "share of a domain's activity that crosses place boundaries (gain from system co-ordination)",
    )
    knowledge_weight: float = param(1.0, "relative", 0.0, 10.0, "weight of local-knowledge gains in the subsidiarity test")


@dataclass
class AllocationConfig:
    """How a budget holder divides money across the areas below it (MODEL.md section 5)."""

    rule: str = param("need_weighted", "-", choices=ALLOCATION_RULES, help="how a budget holder divides money across the areas below it")
    hi_adjustment: float = param(
        0.3, "relative", 0.0, 2.0, "extra weight at the most deprived end under need_weighted_hi",
        "NHS England health inequalities adjustment (order of magnitude); assumption",
    )


@dataclass
class TrustConfig:
    """Trust between partners (MODEL.md section 6.7)."""

    initial: float = param(0.35, "trust", 0.0, 1.0, "trust between partners at the start", uncertain=(0.15, 0.6),
                           label="trust between partners at the start")
    baseline: float = param(0.4, "trust", 0.0, 1.0, "level trust slowly returns to")
    gain: float = param(0.06, "share of the gap to 1", 0.0, 1.0, "trust gained from an agreement, delivery or small win")
    loss_ratio: float = param(
        3.0, "ratio", 1.0, 10.0, "a violation costs this many times what a success earns",
        "Slovic 1993, trust asymmetry; MODEL.md section 6.7", uncertain=(2.0, 5.0), label="ratio of trust lost per breach to trust gained per success",
    )
    reversion: float = param(0.01, "per month", 0.0, 1.0, "monthly return towards the baseline")
    dialogue: float = param(
        0.5, "share of a success", 0.0, 1.0, "trust every pair of members gains from a meeting that concludes its business (dialogue, small wins)",
        "Ansell and Gash 2008: face-to-face dialogue builds trust; assumption", uncertain=(0.1, 0.9), label="trust built by each concluded meeting",
    )


@dataclass
class CostsConfig:
    """Running costs of partnership working and the efficiency of joint delivery (MODEL.md
    sections 6.4, 6.5, 6.8; docs/design/health_and_money.md section 7)."""

    hourly_cost_gbp: float = param(
        110.0, "GBP per hour", 0.0, 1000.0, "cost of a member's hour (board-level or senior manager), incl. on-costs and overheads",
        "NHS Agenda for Change 2023/24 band 8d-9 and VSM pay with PSSRU Unit Costs of Health and Social Care 2023 "
        "conventions (salary on-costs, overheads, about 1,600 working hours a year); range 85-150",
    )
    officer_hourly_cost_gbp: float = param(
        50.0, "GBP per hour", 0.0, 1000.0, "cost of a supporting officer's hour (papers, briefing), incl. on-costs and overheads",
        "Agenda for Change 2023/24 band 7-8a with PSSRU 2023 conventions; range 38-65",
    )
    officers_per_voting_seat: float = param(
        1.0, "people", 0.0, 5.0, "supporting officers who attend and prepare with each voting member", ASSUMPTION,
    )
    secretariat_hours: float = param(
        15.0, "hours per meeting", 0.0, 200.0, "officer time to write the papers and minutes of a meeting", ASSUMPTION,
    )
    meeting_hours: float = param(3.0, "hours", 0.0, 100.0, "length of a meeting")
    preparation_hours: float = param(6.0, "hours per member", 0.0, 200.0, "preparation per member per meeting")
    pooled_admin_gbp: float = param(60_000.0, "GBP per place per year", 0.0, 1e7, "running a section 75 pooled budget")
    contract_management: float = param(0.004, "share of envelope", 0.0, 0.1, "managing a lead provider contract")
    independent_chair_gbp: float = param(20_000.0, "GBP per year", 0.0, 1e6, "remuneration of an independent chair")
    reporting_share: float = param(0.001, "share of delegated budget", 0.0, 0.05, "assurance and reporting burden")
    integration_bonus: float = param(
        0.02, "share", 0.0, 0.5, "efficiency gain of integrated delivery (pooled budget or one commissioner) at full trust",
        "NAO, Health and social care integration (HC 1011, 2017): benefits 'fallen far short of plans'; the Better Care "
        "Fund's first year realised little of its planned savings (PAC, HC 807, 2014-15); integrated care pilot "
        "evaluations found process gains without fewer emergency admissions. Evidence range 0-0.05",
        uncertain=(0.0, 0.05), label="efficiency gain of integrated delivery",
    )
    duplication_rate: float = param(
        0.10, "share", 0.0, 1.0,
        "share of the overlapping (smaller) contribution wasted when two funders who do not co-ordinate pay for the same need",
        "no national measure of double-funded care exists; range 0-0.25 brackets the duplicated assessments and visits "
        "integration evaluations describe (NAO HC 1011, 2017). Varied in sensitivity analysis",
        uncertain=(0.0, 0.25), label="waste of unco-ordinated overlapping funding",
    )


@dataclass
class ProvidersConfig:
    """Capacity of providers (MODEL.md section 3)."""

    capacity_slack: float = param(0.05, "share", 0.0, 1.0, "capacity above initial funded activity")
    capacity_adjustment_months: float = param(18.0, "months", 1.0, 240.0, "time for capacity to follow funding")
    social_care_workforce_growth: float = param(
        0.02, "per year", 0.0, 0.5, "fastest growth of social care capacity (workforce bound)", "Skills for Care 2023"
    )
    collaborative: bool = param(True, "-", help="providers give mutual aid across places (provider collaborative)")
    vcse_cost_factor: float = param(0.75, "relative unit cost", 0.1, 2.0, "unit cost of VCSE-delivered prevention and support")
    vcse_grant_share: float = param(0.3, "share", 0.0, 1.0, "share of prevention spending channelled through VCSE grants")
    vcse_bodies: int = param(6, "count", 1, 50, "VCSE bodies modelled per place (each with its own size, grant dependence and reserves)")
    vcse_running_cost: float = param(
        0.98, "share of income", 0.0, 2.0, "running cost a VCSE body commits to, as a share of its income (thin margins)",
        "NCVO Civil Society Almanac: the sector's surplus is a few per cent of income; assumption",
    )
    vcse_cost_months: float = param(24.0, "months", 1.0, 240.0, "time for a VCSE body's running cost to follow its income")
    vcse_cost_cut: float = param(
        0.05, "share per year", 0.0, 1.0, "fastest cut of a VCSE body's running cost (contracts, leases, redundancy)"
    )
    vcse_reserve_months: float = param(
        4.0, "months of running cost", 0.0, 60.0, "median reserves of a VCSE body at the start (log s.d. 0.6 between bodies)",
        "Charity Commission reserves guidance and NCVO: commonly 3-6 months of expenditure, many hold less; assumption",
    )
    vcse_grant_cut_elasticity: float = param(
        4.0, "ratio", 0.0, 20.0, "grants to VCSE bodies fall this many times faster than a funder's budget is cut against plan",
        "NCVO Almanac: local authority grants to the sector fell far faster than council budgets after 2010; assumption",
    )
    vcse_rebuild_years: float = param(
        3.0, "years", 0.1, 50.0, "mean time before a folded VCSE body is replaced, and for the new body to grow to full size"
    )
    vcse_income_volatility: float = param(
        0.25, "log s.d. per year", 0.0, 2.0, "year-to-year variation of VCSE external income (grant rounds)"
    )


@dataclass
class IcpConfig:
    """The integrated care partnership (MODEL.md section 3)."""

    meetings_per_year: int = param(2, "per year", 1, 12, "ICP assembly meetings a year", "Herefordshire HWB report on its ICP")
    icb_votes: int = param(
        2, "votes", 0, 20, "the ICB's votes at the ICP (each council has one); an ICB chair adds one",
        "Herefordshire HWB report: the ICB chair and chief executive sit on the ICP assembly; assumption",
    )
    strategy_month: int = param(7, "month of year (1 = April)", 1, 12, "financial-year month when the strategy is revised")


@dataclass
class SedConfig:
    """Social and economic development (optional, off by default; seed 003)."""

    enabled: bool = param(False, "-")
    external_gbp_per_head: float = param(15.0, "GBP per head per year", 0.0, 500.0, "external funding at full engagement")
    ramp_years: float = param(5.0, "years", 0.5, 30.0, "years for partnership working to reach full engagement")
    anchor_local_share: float = param(0.35, "share", 0.0, 1.0, "share of NHS non-pay spending kept local by anchor institutions")
    effect: float = param(0.05, "health state per unit", 0.0, 1.0, "effect of wider-determinants funding on the deprived")


@dataclass
class ShockConfig:
    """One dated event on the shock timeline."""

    kind: str = param("winter_pressure", "-", choices=("winter_pressure", "funding_cut", "workforce_loss"))
    start: str = "2026-12"  # YYYY-MM
    months: int = param(3, "months", 1, 600, "duration")
    magnitude: float = param(0.1, "share", 0.0, 1.0, "size of the change (need up, budget or capacity down)")
    domain: str = "acute"
    every_year: bool = False


@dataclass
class Config:
    """A whole run's configuration."""

    seed: int = param(0, "-", 0, 2**31 - 1, "random seed of the run")
    years: int = param(10, "years", 1, 50, "horizon")
    start_year: int = param(2025, "year", 2000, 2100, "calendar year of the first April")
    scenario: str = ""
    chair: str = param("independent", "-", choices=CHAIRS, help="who chairs the place table: an independent chair (moderates the opening proposal) or the ICB")
    decision_rule: str = param("majority", "-", choices=DECISION_RULES, help="how the voting members of a place table agree a plan")
    replicates: int = param(1, "count", 1, 100_000, "replicates per setting in a sweep")
    system: SystemConfig = field(default_factory=SystemConfig)
    governance: GovernanceConfig = field(default_factory=GovernanceConfig)
    membership: MembershipConfig = field(default_factory=MembershipConfig)
    delegation: DelegationConfig = field(default_factory=DelegationConfig)
    allocation: AllocationConfig = field(default_factory=AllocationConfig)
    finance: FinanceConfig = field(default_factory=FinanceConfig)
    need: NeedConfig = field(default_factory=NeedConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    observation: ObservationConfig = field(default_factory=ObservationConfig)
    interests: InterestsConfig = field(default_factory=InterestsConfig)
    decision: DecisionConfig = field(default_factory=DecisionConfig)
    trust: TrustConfig = field(default_factory=TrustConfig)
    costs: CostsConfig = field(default_factory=CostsConfig)
    providers: ProvidersConfig = field(default_factory=ProvidersConfig)
    icp: IcpConfig = field(default_factory=IcpConfig)
    sed: SedConfig = field(default_factory=SedConfig)
    shocks: list[ShockConfig] = field(default_factory=list)
    #: settings for one place instead of the system-wide ones, keyed by place (name or code):
    #: ``{"Herefordshire": {"governance": {"form": "joint_committee"}}}``; which keys a place may
    #: set, how places are named and how settings merge: :mod:`ics_sim.config.places`
    place_settings: dict[str, Any] = field(default_factory=dict)
