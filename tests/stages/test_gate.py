import math

from fairmot.reporting.gate import check_gate


def by_metric(results):
    return {r.metric: r.passed for r in results}


def test_drop_within_tolerance_passes_and_beyond_fails():
    baseline = {"MOTA": 0.70, "IDF1": 0.65, "HOTA": 0.55}
    current = {"MOTA": 0.66, "IDF1": 0.59, "HOTA": 0.80}
    assert by_metric(check_gate(baseline, current, tolerance=0.05)) == {"MOTA": True, "IDF1": False, "HOTA": True}


def test_missing_or_nan_current_metric_fails():
    baseline = {"MOTA": 0.7, "IDF1": 0.6, "HOTA": 0.5}
    current = {"MOTA": math.nan, "IDF1": 0.6}
    assert by_metric(check_gate(baseline, current, tolerance=0.05)) == {"MOTA": False, "IDF1": True, "HOTA": False}


def test_no_baseline_passes_when_the_metric_is_now_reported():
    results = check_gate({}, {"MOTA": 0.1, "IDF1": 0.2, "HOTA": 0.3}, tolerance=0.0)
    assert all(r.passed for r in results)
    assert "no baseline" in results[0].describe()
