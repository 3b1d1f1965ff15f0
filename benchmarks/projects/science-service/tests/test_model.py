from science_service.model import fit, samples


def test_fit_recovers_the_sine() -> None:
    fitted, residuals = fit(samples(2000))
    assert abs(fitted["amplitude"] - 2.0) < 0.05
    assert abs(fitted["frequency"] - 1.5) < 0.05
    assert residuals["std"] < 0.25
