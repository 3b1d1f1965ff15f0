"""The command line entry point: `science-service --samples N`."""

from __future__ import annotations

import click

from science_service.model import fit, samples


@click.command()
@click.option("--samples", "count", default=1000, show_default=True, help="Number of samples.")
@click.option("--seed", default=0, show_default=True, help="Random seed.")
def main(count: int, seed: int) -> None:
    """Fit a sine wave to noisy samples and print the fit and the residuals."""
    fitted, residuals = fit(samples(count, seed))
    for name, value in fitted.items():
        click.echo(f"{name:>9}: {value:.4f}")
    click.echo(residuals.to_string())
