"""Disclosure control: the linked table of published counts, primary and secondary suppression
(witness programmes, HiGHS), the attacker audit (linear programming) and the Cell Key Method."""

# The values of dbt var `disclosure_method` (dbt_project.yml): defined with the project's
# configuration (orchestration.settings), named here too for the disclosure code and its dbt model.
from ..settings import DISCLOSURE_METHODS

__all__ = ["DISCLOSURE_METHODS"]
