"""The project's own dbt-score rules (pyproject.toml, [tool.dbt-score] rule_namespaces), run by
`make lint` on the manifest of `sozialmonitor dbt-parse`.

dbt-score's built-in rules ask for descriptions, owners and primary-key tests, but none asks that a
model is tested at all; this one does. It is critical: a model without a data test scores 0 and
fails `make lint` (fail_any_item_under)."""

# (no `from __future__ import annotations`: dbt-score reads the annotation of the argument)
from dbt_score import Model, RuleViolation, Severity, rule


@rule(severity=Severity.CRITICAL)
def has_data_test(model: Model) -> RuleViolation | None:
    """A model has at least one data test (on the model or on one of its columns)."""
    if model.tests or any(column.tests for column in model.columns):
        return None
    return RuleViolation(message="Model has no data test: add one to its properties (.yml).")
