"""Forecast baselines and error measures, worked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit import baselines as bl


def test_baselines_by_hand():
    h = np.array([1.0, 2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(bl.naive_forecast(h, 3), [7, 7, 7])
    # period 3, last cycle is [5, 6, 7]: leads 1..4 -> 5, 6, 7, 5
    np.testing.assert_array_equal(bl.seasonal_naive_forecast(h, 4, 3), [5, 6, 7, 5])
    y, f = np.array([1.0, 2, 3]), np.array([2.0, 2, 5])
    assert bl.mae(y, f) == pytest.approx(1.0)  # (1 + 0 + 2) / 3
    assert bl.rmse(y, f) == pytest.approx(np.sqrt(5 / 3))  # (1 + 0 + 4) / 3
    # in-sample naive scale of [1, 3, 2, 6]: (2 + 1 + 4) / 3
    assert bl.mase_scale(np.array([1.0, 3, 2, 6]), 1) == pytest.approx(7 / 3)
    assert bl.mase(y, f, 7 / 3) == pytest.approx(3 / 7)


def test_lag_profile_exposes_a_forecast_that_repeats_the_last_value():
    y = np.cumsum(np.random.default_rng(0).normal(size=60))
    idx = np.arange(10, 60)
    lag = bl.lag_profile(y[idx - 1], y, idx)  # the naive forecast
    assert lag[1] == pytest.approx(1.0) and lag[0] < lag[1]


def test_mase_scale_is_per_series_never_pooled_across_units():
    # sales [10, 30, 20] and °C [1.0, 1.5, 1.0]: naive steps |20|, |10| and |0.5|, |0.5|; one scale each
    train = np.array([[10.0, 1.0], [30.0, 1.5], [20.0, 1.0]])
    np.testing.assert_allclose(bl.mase_scale(train, 1), [15.0, 0.5])  # pooled it was (20 + 10 + 0.5 + 0.5) / 4 = 7.75
    assert bl.mase_scale(train[:, 0], 1) == 15.0 and isinstance(bl.mase_scale(train[:, 0], 1), float)


def test_seasonal_growth_forecast_by_hand():
    # period 4, last cycle [2, 4, 6, 8], g = y[7] / y[3] = 8 / 4 = 2: leads 1..4 -> [2, 4, 6, 8] * 2,
    # leads 5, 6 (a cycle further) -> y[4], y[5] * 2² = [8, 16]
    h = np.array([1.0, 2, 3, 4, 2, 4, 6, 8])
    np.testing.assert_allclose(bl.seasonal_growth_forecast(h, 6, 4), [4, 8, 12, 16, 8, 16])
    # a second series, growth 3 / 1 = 3 of its own: [1, 1, 1, 3] * 3, then [1, 1] * 9
    two = np.stack([h, [1.0, 1, 1, 1, 1, 1, 1, 3]], axis=1)  # (8, 2)
    got = bl.seasonal_growth_forecast(two, 6, 4)
    assert got.shape == (6, 2)
    np.testing.assert_allclose(got[:, 0], [4, 8, 12, 16, 8, 16])
    np.testing.assert_allclose(got[:, 1], [3, 3, 3, 9, 9, 9])


def test_seasonal_growth_forecast_refuses_a_short_or_non_positive_history():
    with pytest.raises(ValueError, match=r"seasonal_growth_forecast: expected history at least period \+ 1 = 5 values .*got 4"):
        bl.seasonal_growth_forecast(np.ones(4), 3, 4)
    with pytest.raises(ValueError, match=r"expected history positive values at y\[N-1\] and y\[N-1-period\] = y\[1\].*got \[2.0\] and \[0.0\]"):
        bl.seasonal_growth_forecast(np.array([1.0, 0, 1, 2]), 3, 2)


def test_drift_forecast_by_hand():
    # [2, 5, 3, 11]: mean step (11 - 2) / 3 = 3, so leads 1..3 -> 14, 17, 20
    np.testing.assert_allclose(bl.drift_forecast(np.array([2.0, 5, 3, 11]), 3), [14, 17, 20])
    # a second series falling from 4 to -2: step -2 -> -4, -6, -8 (any sign: no ratio of levels)
    two = np.array([[2.0, 4], [5, 0], [3, 3], [11, -2]])
    np.testing.assert_allclose(bl.drift_forecast(two, 3), [[14, -4], [17, -6], [20, -8]])
    with pytest.raises(ValueError, match=r"^drift_forecast: expected history at least 2 values \(a first and a last\), got 1\. Give a history of 2 values or more, or use naive_forecast for a single one\.$"):
        bl.drift_forecast(np.ones(1), 2)


def test_majority_accuracy_by_hand():
    # training labels: four 1s, two 0s -> always 1; test [1, 1, 0, 1]: 3 of 4
    assert bl.majority_accuracy(np.array([[0, 1, 1], [1, 0, 1]]), np.array([1, 1, 0, 1])) == 0.75
    assert bl.majority_accuracy(np.array([2, 0, 2, 0]), np.array([0, 2, 2])) == pytest.approx(1 / 3)  # a tie: the smaller, 0
    with pytest.raises(ValueError, match="majority_accuracy: expected y_test at least one label, got none"):
        bl.majority_accuracy([1], [])
    # the label itself, of any kind: counted by hand ("b" twice, "a" twice, "c" once: a tie, the smaller "a")
    assert bl.majority_label(np.array(["b", "a", "c", "a", "b"])) == "a"
    assert bl.majority_label(np.array([[3, 3], [-1, 3]])) == 3  # negative labels too (np.bincount refused them)
    with pytest.raises(ValueError, match="majority_accuracy: expected y_train at least one label, got none"):
        bl.majority_accuracy([], [1])


def test_char_ngram_perplexity_by_hand():
    # training text "abab", V = 2 characters + "unknown" = 3, k = 1.
    # unigrams a:2 b:2; bigrams ab:2 ba:1, so C(a) = 2, C(b) = 1 (contexts followed by a character)
    m = bl.CharNGram(n=2, k=1.0).fit("abab")
    assert m.vocab_ == "ab"
    assert m.prob("a", "b") == pytest.approx(3 / 5)  # (2 + 1) / (2 + 3)
    assert m.prob("b", "a") == pytest.approx(2 / 4)  # (1 + 1) / (1 + 3)
    assert m.prob("", "a") == pytest.approx(3 / 7)  # no context: the unigram (2 + 1) / (4 + 3)
    # "aba": P(b|a) P(a|b) = 3/5 · 1/2, the first character unscored: perplexity (3/10)^(-1/2)
    assert m.perplexity("aba") == pytest.approx((3 / 10) ** -0.5)
    # an unseen character is "unknown": P(c|b) = (0 + 1) / (1 + 3)
    assert m.perplexity("abc") == pytest.approx((3 / 5 * 1 / 4) ** -0.5)
    # order 3: trigrams aba:1 bab:1, contexts ab:1 ba:1; "abb" scores b after "a" with the bigram
    # counts (the text's start) and b after "ab" with the trigram's: (0 + 1) / (1 + 3)
    m3 = bl.CharNGram(n=3, k=1.0).fit("abab")
    assert m3.perplexity("abb") == pytest.approx((3 / 5 * 1 / 4) ** -0.5)


def test_char_ngram_probabilities_sum_to_one_after_every_context():
    m = bl.CharNGram(n=3, k=0.1).fit("the cat sat on the mat")
    for h in ("", "t", "th", "at", "zq", "e "):  # seen and unseen contexts
        total = sum(m.prob(h, c) for c in m.vocab_) + m.prob(h, "\x00")  # + one unseen character
        assert total == pytest.approx(1.0), h


def test_char_ngram_refuses_bad_input():
    with pytest.raises(ValueError, match="CharNGram: expected n >= 1, got 0"):
        bl.CharNGram(n=0)
    with pytest.raises(ValueError, match=r"CharNGram: expected k a finite number > 0, got 0"):
        bl.CharNGram(k=0)
    with pytest.raises(ValueError, match="CharNGram.perplexity: expected the model fitted, got an unfitted CharNGram"):
        bl.CharNGram().perplexity("ab")
    with pytest.raises(ValueError, match="CharNGram.fit: expected text a non-empty str, got str of length 0"):
        bl.CharNGram().fit("")
    with pytest.raises(ValueError, match="CharNGram.perplexity: expected text a str of at least 2 characters, got 1 characters"):
        bl.CharNGram().fit("ab").perplexity("a")


def test_smape_by_hand():
    from lstmkit.baselines import smape

    # terms 200|y - ŷ| / (|y| + |ŷ|): 200·1/3 = 66.67, 200·2/6 = 66.67, 0, 200·4/4 = 200 -> mean 83.33
    assert smape([1.0, 2.0, 5.0, -2.0], [2.0, 4.0, 5.0, 2.0]) == pytest.approx((200 / 3 + 200 / 3 + 0 + 200) / 4, rel=1e-15)
    assert np.isnan(smape([1.0, 0.0], [1.0, 0.0]))  # a 0 among the values: undefined, not 0 nor 200
