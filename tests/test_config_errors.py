"""Every bad configuration is one line naming the field and what is allowed; nothing is silently
ignored; several shocks combine; the checked path composes exactly what Hydra composes."""

from __future__ import annotations

import dataclasses

import pytest
from omegaconf import OmegaConf

from ics_sim.config import ConfigError, is_safe_label, load_config, safe_label, validate
from ics_sim.config import overrides as ov
from ics_sim.config.schema import PerDomain
from ics_sim.domains import DOMAINS
from ics_sim.model.shocks import ShockTimeline, month_index

#: (overrides, the field the message must start with or name, what it must say is allowed)
BAD: list[tuple[dict | list, str, str]] = [
    (["governnce=joint_committee"], "unknown key governnce (did you mean governance?)", "allowed keys here are"),
    (["delegation.shar=0.3"], "unknown key delegation.shar (did you mean delegation.share?)", "max_share"),
    (["governance=joint"], "governance=joint is not an option", "choose one of committee"),
    (["system=herefordshire"], "system=herefordshire is not an option", "(did you mean herefordshire_worcestershire?)"),
    (["shocks=funding_cuts"], "shocks=funding_cuts is not an option", "(did you mean funding_cut?)"),
    (["shocks=../../elsewhere/file"], "shocks=../../elsewhere/file is not an option", "only from the package's configs/"),
    (["seed=abc"], "seed must be a whole number", "allowed 0 to 2,147,483,647"),
    (["years=2.5"], "years must be a whole number", "allowed 1 to 50 (years)"),
    (["seed=inf"], "seed must be a finite whole number", "allowed 0 to"),
    (["trust.initial=nan"], "trust.initial must be a finite number", "allowed 0 to 1"),
    ({"trust.gain": float("-inf")}, "trust.gain must be a finite number", "allowed 0 to 1"),
    (["years=0"], "years = 0 is out of range", "allowed 1 to 50"),
    (["chair=mayor"], "chair = 'mayor' is not allowed", "choose one of independent, icb"),
    (["system=icb", "system.icb=E99999999"], "system.icb = 'E99999999' does not name one ICB", "ONS code, ODS code or name"),
    (["system=icb"], "system.icb must name one of the 42 ICBs", "it is empty"),
    (["governance=[1,two,null]"], "governance takes one option, not a list", "choose one of committee"),
    ({"governance": {"form": "committee"}}, "governance takes an option name, not a mapping", "choose one of"),
    (["governance={}"], "governance={} chooses nothing", "choose one of"),
    (["health=[]"], "health=[] chooses nothing", "choose one of calibrated"),
    (["delegation=[]"], "delegation=[] chooses nothing", "choose one of central"),
    (["shocks=[]"], "shocks=[] chooses nothing", "shocks=none for no shocks"),
    (["shocks=null"], "shocks=null", "choose one of funding_cut"),
    (["trust={}"], "trust={} sets nothing", "allowed keys here are initial"),
    (["years=???"], "years = '???' is the marker of a missing value", "give the value itself"),
    (["delegation.share=${nope}"], "delegation.share = '${nope}': interpolations", "give the value itself"),
    (["scenario=${oc.env:HOME}"], "scenario = '${oc.env:HOME}': interpolations", "resolvers such as oc.env"),
    ({"scenario": "${oc.env:HOME}"}, "scenario = '${oc.env:HOME}': interpolations", "give the value itself"),
    (["scenario=../../../../../escaped"], "scenario = '../../../../../escaped' is not a safe label", "A-Z a-z 0-9"),
    (["scenario=a/b"], "scenario = 'a/b' is not a safe label", "no leading dot"),
    (["system.name=.hidden"], "system.name = '.hidden' is not a safe label", "A-Z"),
    (["governance.form=lead_provider"], "governance.form is set by the governance group", "governance=<option>"),
    (["a=1,2"], "a: 'a=1,2' is a sweep of several values", "give one value"),
    (["x=[1,two"], "x: cannot read the override 'x=[1,two'", "write key=value"),
    (["foo"], "foo: cannot read the override 'foo'", "write key=value"),
    (["~shocks"], "shocks: removing keys (~) is not supported", "set a value instead"),
    (["governance@x=committee"], "governance@x: packages (@) are not supported", "governance=<option>"),
    (["seed=1", "seed=2"], "seed is given twice", "give each key once"),
    ({"hydra.launcher.n_jobs": 2}, "hydra.launcher.n_jobs: hydra settings apply to the command line only", "command line"),
    (["system.places.9.population=5000"], "system.places.9.population: cannot set it here", "index out of range"),
    (["system.places=[{name: a, popn: 3}]"], "unknown key system.places[0].popn", "allowed keys here are code"),
    (["need.gbp_per_head={acute: 5, foo: 1}"], "unknown key need.gbp_per_head.foo", "allowed keys here are acute"),
    (["shocks=funding_cut", "shocks.funding_cut.start=2028-13"], "shocks.funding_cut.start = '2028-13'", "YYYY-MM"),
    (["shocks=funding_cut", "shocks.funding_cut.domain=dental"], "shocks.funding_cut.domain = 'dental' is not allowed", "choose one of acute"),
    (["shocks=[funding_cut,funding_cut]"], "shocks: funding_cut is listed twice", "list each shock once"),
    (["governance.ladder=true", "governance.ladder_up_trust=0.2"], "governance.ladder_down_trust (0.3) must be below", "governance.ladder_up_trust (0.2)"),
    (["health.hle_span=5"], "health.hle_most_deprived = 52.722 is out of range", "health.hle_floor + health.hle_span"),
]

#: keys the chosen options ignore: (overrides, message start, the option that would read the key)
NO_OP: list[tuple[dict, str, str]] = [
    ({"delegation": "subsidiarity", "delegation.share": 0.4}, "delegation.share has no effect with delegation=subsidiarity", "delegation=fixed"),
    ({"delegation": "central", "delegation.max_share": 0.4}, "delegation.max_share has no effect with delegation=central", "delegation=subsidiarity or delegation=earned_autonomy"),
    ({"delegation": "fixed", "delegation.cross_place_flow.acute": 0.1}, "delegation.cross_place_flow.acute has no effect with delegation=fixed", "delegation=subsidiarity"),
    ({"delegation": "fixed", "delegation.step": 0.2}, "delegation.step has no effect with delegation=fixed", "delegation=earned_autonomy"),
    ({"allocation": "per_head", "allocation.hi_adjustment": 0.5}, "allocation.hi_adjustment has no effect with allocation=per_head", "allocation=need_weighted_hi"),
    ({"governance.outcome_payment_share": 0.5}, "governance.outcome_payment_share has no effect with governance=committee", "governance=lead_provider"),
    ({"governance": "joint_committee", "governance.sro_appointment": "joint"}, "governance.sro_appointment has no effect with governance=joint_committee", "governance=individual_executive"),
    ({"governance.advice_weight": 0.5}, "governance.advice_weight has no effect with governance=committee", "governance=consultative_forum"),
    ({"governance.ladder_months": 6}, "governance.ladder_months has no effect with governance=committee", "governance.ladder=true"),
    ({"governance": "lead_provider", "governance.ladder": True}, "governance.ladder has no effect with governance=lead_provider, governance.ladder=true", "governance=consultative_forum, committee or joint_committee"),
    ({"finance.pooled_council_share": 0.5}, "finance.pooled_council_share has no effect with governance=committee, governance.pooled=false", "governance.pooled=true"),
    ({"chair": "icb", "costs.independent_chair_gbp": 1000.0}, "costs.independent_chair_gbp has no effect with chair=icb", "chair=independent"),
    ({"decision.supermajority": 0.8}, "decision.supermajority has no effect with decision_rule=majority", "decision_rule=supermajority"),
    ({"sed.effect": 0.2}, "sed.effect has no effect with sed.enabled=false", "sed.enabled=true"),
    ({"sed": {"ramp_years": 3.0}}, "sed.ramp_years has no effect with sed.enabled=false", "sed.enabled=true"),
    ({"system": "herefordshire_worcestershire", "system.icb": "QGH"}, "system.icb has no effect with system=herefordshire_worcestershire", "system=icb"),
    ({"system": "england", "system.need_index": 1.1}, "system.need_index has no effect with system=england", "system=synthetic"),
    ({"shocks.funding_cut.magnitude": 0.1}, "shocks.funding_cut.magnitude has no effect with shocks=none", "shocks=funding_cut"),
    ({"delegation.share": 0.3, "delegation.step": 0.1}, "delegation.step (read by delegation=earned_autonomy) and delegation.share", "choose one with delegation=<option>"),
]


def _error(overrides) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(overrides)
    return str(err.value)


@pytest.mark.parametrize("overrides, start, allowed", BAD, ids=[str(b[0])[:50] for b in BAD])
def test_a_bad_value_is_one_line_naming_the_field_and_what_is_allowed(overrides, start, allowed):
    msg = _error(overrides)
    assert "\n" not in msg
    assert msg.startswith(start), msg
    assert allowed in msg, msg


@pytest.mark.parametrize("overrides, start, by", NO_OP, ids=[str(n[0])[:50] for n in NO_OP])
def test_a_key_the_chosen_options_ignore_is_an_error_naming_the_option_that_reads_it(overrides, start, by):
    msg = _error(overrides)
    assert "\n" not in msg
    assert msg.startswith(start), msg
    assert by in msg, msg


@pytest.mark.parametrize(
    "block", ["need.gbp_per_head", "health.domain_weights", "delegation.scale_elasticity", "delegation.cross_place_flow", "finance.nhs_domain_shares"]
)
@pytest.mark.parametrize("domain", DOMAINS)
def test_every_per_domain_value_is_range_checked(block, domain):
    from ics_sim.config.validate import fields_of

    section, name = block.split(".")
    from ics_sim.config import schema

    cls = {"need": schema.NeedConfig, "health": schema.HealthConfig, "delegation": schema.DelegationConfig, "finance": schema.FinanceConfig}[section]
    lo, hi = fields_of(cls)[name].metadata["range"]
    for bad in (lo - 1.0, hi + 1.0):
        msg = _error({block + "." + domain: bad})
        assert msg.startswith(f"{block}.{domain} = {bad:g} is out of range: allowed {lo:g} to "), msg
    # the same through a mapping for the whole block
    msg = _error({block: {domain: hi + 1.0}})
    assert msg.startswith(f"{block}.{domain} = {hi + 1.0:g} is out of range"), msg


def test_negative_nhs_shares_are_refused_even_when_they_sum_to_one():
    shares = {"acute": 0.9, "primary_community": 0.3, "mental_health": -0.2, "social_care": 0.0, "prevention": 0.0}
    assert sum(shares.values()) == pytest.approx(1.0)
    msg = _error({"finance.nhs_domain_shares": shares})
    assert msg.startswith("finance.nhs_domain_shares.mental_health = -0.2 is out of range: allowed 0 to 1")
    msg = _error({"finance.nhs_domain_shares.acute": 0.6})
    assert msg.startswith("finance.nhs_domain_shares must sum to 1 (they sum to 1.0800)")


def test_delegation_share_alone_selects_fixed_and_is_not_ignored():
    import ics_sim

    cfg, _ = load_config({"delegation.share": 0.4})
    assert (cfg.delegation.rule, cfg.delegation.share) == ("fixed", 0.4)
    # the README's API example: the share is used, so two shares give two results
    low = ics_sim.run({"governance": "joint_committee", "delegation.share": 0.1, "years": 1}, seed=1)
    high = ics_sim.run({"governance": "joint_committee", "delegation.share": 0.9, "years": 1}, seed=1)
    assert "fixed" in low.scenario and low.config.delegation.rule == "fixed"
    assert low.summary["unmet_need"] != high.summary["unmet_need"]


def test_keys_of_one_option_select_it_when_the_group_is_not_given():
    assert load_config({"delegation.step": 0.2})[0].delegation.rule == "earned_autonomy"
    assert load_config({"allocation.hi_adjustment": 0.5})[0].allocation.rule == "need_weighted_hi"
    cfg = load_config({"system.icb": "QGH"})[0]
    assert (cfg.system.kind, cfg.system.icb) == ("icb", "QGH")
    # the option chosen explicitly is kept, and keys it reads are fine
    assert load_config({"delegation": "fixed", "delegation.share": 0.2})[0].delegation.share == 0.2
    assert load_config({"governance": "lead_provider", "governance.outcome_payment_share": 0.5})[0].governance.outcome_payment_share == 0.5
    assert load_config({"governance.ladder": True, "governance.ladder_months": 6})[0].governance.ladder_months == 6


def test_several_shocks_combine_on_one_timeline():
    cfg, _ = load_config({"shocks": ["funding_cut", "winter_pressure"]})
    assert [s.kind for s in cfg.shocks] == ["funding_cut", "winter_pressure"]
    timeline = ShockTimeline(cfg)
    winter = month_index("2025-12", cfg.start_year)
    cut = month_index("2028-04", cfg.start_year)
    assert timeline.need_factor(winter)[0, DOMAINS.index("acute")] == pytest.approx(1.10)
    assert timeline.budget_factor(cut) == pytest.approx((0.95, 0.95))
    # each alone has only its own
    assert ShockTimeline(load_config({"shocks": "funding_cut"})[0]).need_factor(winter)[0, 0] == 1.0
    assert ShockTimeline(load_config({"shocks": "winter_pressure"})[0]).budget_factor(cut) == (1.0, 1.0)
    # the string form of the command line gives the same
    assert load_config(["shocks=[funding_cut,winter_pressure]"])[0].shocks == cfg.shocks


def test_a_chosen_shock_can_be_changed_by_its_name():
    cfg, _ = load_config(["shocks=[winter_pressure,funding_cut]", "shocks.funding_cut.magnitude=0.2"])
    assert [(s.kind, s.magnitude) for s in cfg.shocks] == [("winter_pressure", 0.1), ("funding_cut", 0.2)]


#: valid overrides whose composition must equal Hydra's own
SAME_AS_HYDRA = [
    [],
    ["governance=joint_committee", "delegation=fixed", "delegation.share=0.4"],
    ["shocks=[funding_cut,winter_pressure]", "shocks.funding_cut.months=12", "years=3"],
    ["need.gbp_per_head={acute: 900, prevention: 100}", "health.domain_weights.social_care=0.5"],
    ["system.places=[{name: A, population: 300000, neighbourhoods: 5}]", "system.deprivation_spread=0.1"],
    ["system=icb", "system.icb=E54000019", "governance=lead_provider", "governance.outcome_payment_share=0.3"],
    ["allocation=need_weighted_hi", "allocation.hi_adjustment=1", "trust={initial: 0.5, gain: 0.1}", "scenario=my-run_1"],
    ["seed=7", "++years=2", "membership.vcse=false", "chair=icb", "decision_rule=supermajority", "decision.supermajority=0.75"],
]


@pytest.mark.parametrize("overrides", SAME_AS_HYDRA, ids=[" ".join(o)[:40] or "default" for o in SAME_AS_HYDRA])
def test_the_checked_path_composes_what_hydra_composes(overrides):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from ics_sim.config import CONFIG_DIR, register_with_hydra

    mine, _ = load_config(overrides)
    register_with_hydra()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            theirs = compose(config_name="config", overrides=overrides)
    finally:
        GlobalHydra.instance().clear()
    assert mine == validate(OmegaConf.to_container(theirs, resolve=True))


def test_a_mapping_and_override_strings_give_the_same_config():
    a, _ = load_config({"governance": "lead_provider", "need.gbp_per_head.acute": 900.0, "shocks": ["workforce_loss"], "scenario": "x"})
    b, _ = load_config(["governance=lead_provider", "need.gbp_per_head.acute=900", "shocks=[workforce_loss]", "scenario=x"])
    assert a == b
    # a + prefix on a key that exists is taken as setting it (Hydra would refuse it)
    assert load_config(["+seed=7", "++years=2"])[0] == load_config({"seed": 7, "years": 2})[0]


def test_loading_is_cheap_once_the_groups_are_composed():
    import time

    load_config({"years": 2})
    start = time.process_time()  # this process's CPU time: what the code costs, whatever else runs
    for i in range(20):
        load_config({"years": 2, "trust.initial": i / 40})
    assert (time.process_time() - start) / 20 < 0.05  # Hydra's own composition takes ~0.15 s


def test_safe_labels():
    assert safe_label("../../../../../escaped") == "escaped"
    assert safe_label("a/b") == "a_b"
    assert safe_label("system.places=[{name: ../x}]") == "system.places=_name_._x"
    assert safe_label("....") == "run" and safe_label("", fallback="none") == "none"
    assert safe_label("x" * 500) == "x" * 120
    for text in ("../a", "a/b", ".hidden", "a..b", "", "a b", "x" * 121, "é"):
        assert not is_safe_label(text)
    for text in ("synthetic-committee-fixed-need_weighted", "seed=1,years=2", "a.b+c"):
        assert is_safe_label(text) and safe_label(text) == text


def test_plan_reports_groups_it_selected():
    p = ov.plan(ov.parse({"delegation.share": 0.4, "years": 2}))
    assert p.selected == {"delegation": ("fixed", "delegation.share")}
    assert p.groups == {"delegation": "fixed"}
    assert [k for k, _ in p.values] == ["delegation.share", "years"]


def test_per_domain_blocks_inherit_their_range():
    # PerDomain's own fields carry no metadata; the range comes from the block holding them
    assert all(not f.metadata for f in dataclasses.fields(PerDomain))
    assert ov.resolve_key("need.gbp_per_head.acute").meta["range"] == (0.0, 10_000.0)
