"""Scenario labels name every setting that differs from the chosen options' defaults."""

from __future__ import annotations

import itertools

from ics_sim.config import is_safe_label, load_config
from ics_sim.config.labels import MAX_LABEL
from ics_sim.config.scenario import differences, scenario_label


def label(overrides: dict) -> str:
    return scenario_label(load_config(overrides)[0])


def test_the_default_labels_read_as_before():
    assert label({}) == "synthetic-committee-subsidiarity-need_weighted"
    assert label({"delegation": "fixed"}) == "synthetic-committee-fixed-need_weighted"  # share at its default
    assert label({"governance": "joint_committee"}) == "synthetic-joint_committee-subsidiarity-need_weighted"
    assert label({"scenario": "my_run"}) == "my_run"
    assert label({"seed": 5, "replicates": 3}) == label({})  # seeds and replicate counts are not a scenario


def test_a_setting_the_options_do_not_set_is_named():
    assert label({"delegation.share": 0.4}) == "synthetic-committee-fixed-need_weighted,delegation.share=0.4"
    assert label({"governance": "joint_committee", "membership.vcse": True, "chair": "icb"}) == (
        "synthetic-joint_committee-subsidiarity-need_weighted,chair=icb,membership.vcse=true"
    )
    assert label({"shocks": ["funding_cut", "winter_pressure"], "shocks.funding_cut.magnitude": 0.1}) == (
        "synthetic-committee-subsidiarity-need_weighted-funding_cut+winter_pressure,shocks.funding_cut.magnitude=0.1"
    )
    assert label({"system.icb": "QGH", "years": 3}) == "icb=QGH-committee-subsidiarity-need_weighted,years=3"
    assert label({"system": "herefordshire_worcestershire"}) == "herefordshire_worcestershire-committee-subsidiarity-need_weighted"


def test_different_settings_never_share_a_label():
    settings = [
        {}, {"delegation.share": 0.4}, {"delegation.share": 0.6}, {"membership.vcse": False}, {"chair": "icb"},
        {"decision_rule": "supermajority"}, {"shocks": "funding_cut"}, {"shocks": ["funding_cut", "winter_pressure"]},
        {"governance": "lead_provider", "governance.outcome_payment_share": 0.5}, {"governance": "lead_provider"},
        {"allocation.hi_adjustment": 0.5}, {"need.gbp_per_head.acute": 900.0}, {"trust.initial": 0.2},
    ]
    labels = [label(s) for s in settings]
    assert len(set(labels)) == len(labels)
    for a, b in itertools.combinations(range(len(settings)), 2):
        assert labels[a] != labels[b], (settings[a], settings[b])


def test_a_long_label_is_cut_and_keeps_a_hash():
    many = {"need.gbp_per_head.acute": 900.0, "need.gbp_per_head.prevention": 150.0, "trust.initial": 0.2,
            "trust.gain": 0.05, "decision.concession": 0.3, "costs.hourly_cost_gbp": 90.0}
    long_label = label(many)
    assert len(long_label) <= MAX_LABEL and is_safe_label(long_label)
    assert "+h" in long_label
    assert label({**many, "trust.gain": 0.04}) != long_label  # differs beyond the cut, still a new label
    assert len(differences(load_config(many)[0])) == 6


def test_labels_are_safe_whatever_the_values():
    assert is_safe_label(label({"system.icb": "Herefordshire and Worcestershire"}))
    assert is_safe_label(label({"system.places": [{"name": "../x y", "population": 300000}]}))
