from collections import Counter

import pytest

from app.runtime.planning import choose_variant, migration_plan

from ._defs import definition, stage


def test_80_20_split_over_2000_keys_is_close_and_sticky():
    variants = [(11, 80), (12, 20)]
    picks = [choose_variant("intake-ab", f"lead-{i}", variants) for i in range(2000)]
    share = Counter(picks)[12] / 2000 * 100
    assert 17 <= share <= 23
    assert picks == [choose_variant("intake-ab", f"lead-{i}", variants) for i in range(2000)]
    assert set(picks) == {11, 12}


def test_choice_depends_on_the_split_key():
    a = [choose_variant("split-a", f"k{i}", [(1, 50), (2, 50)]) for i in range(200)]
    b = [choose_variant("split-b", f"k{i}", [(1, 50), (2, 50)]) for i in range(200)]
    assert a != b


def test_zero_weight_variant_is_never_chosen():
    variants = [(1, 0), (2, 1), (3, 0)]
    assert {choose_variant("s", str(i), variants) for i in range(500)} == {2}
    assert {choose_variant("s", str(i), [(7, 100)]) for i in range(50)} == {7}


@pytest.mark.parametrize("variants", [[], [(1, 0)], [(1, 0), (2, 0)], [(1, -1), (2, 5)]])
def test_invalid_weights(variants):
    with pytest.raises(ValueError):
        choose_variant("s", "k", variants)


OLD = definition(stage("collect", 0), stage("eligibility", 1), stage("schedule", 2))
NEW = definition(stage("collect", 0), stage("qualify", 1), stage("schedule", 2))


def test_migration_keeps_same_keys_and_follows_the_mapping():
    assert migration_plan(OLD, NEW, {"collect", "schedule"}, {}) == ({"collect": "collect", "schedule": "schedule"}, [])
    assert migration_plan(OLD, NEW, {"eligibility"}, {"eligibility": "qualify"}) == ({"eligibility": "qualify"}, [])
    assert migration_plan(OLD, NEW, {"collect"}, {"collect": "qualify"}) == ({"collect": "qualify"}, [])


def test_migration_reports_unmapped_stages_for_refusal():
    assert migration_plan(OLD, NEW, {"eligibility", "collect"}, {}) == ({"collect": "collect"}, ["eligibility"])
    assert migration_plan(OLD, NEW, {"eligibility"}, {"eligibility": "gone"}) == ({}, ["eligibility"])
    with pytest.raises(ValueError):
        migration_plan(OLD, NEW, {"nowhere"}, {})
