"""Reporting: the pipeline report (report, figures) and the CI metric gate (gate)."""
