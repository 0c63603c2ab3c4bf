from questionbank.judge import vote_by_tests


def test_a_sample_passing_every_test_is_best_even_in_a_minority():
    p, f = True, False
    result = vote_by_tests([(p, f, f), (p, f, f), (p, p, p), None, (p, f, f)])
    assert result.groups == [0, 0, 1, None, 0]
    assert result.best == 2
    assert result.majority_share == 0.2
    assert result.shares[0] == 0.6 and result.shares[3] == 0.0


def test_between_equal_scores_the_larger_group_then_the_first_wins():
    p, f = True, False
    result = vote_by_tests([(p, f), (f, p), (f, p)])
    assert result.best == 1 and result.majority_share == 2 / 3


def test_nothing_judged():
    assert vote_by_tests([None, None]).majority_share == 0.0
    assert vote_by_tests([]).best is None
