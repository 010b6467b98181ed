"""Disclosure control: the linked table of published counts, primary and secondary suppression
(least cost, HiGHS), the attacker audit (linear programming) and the Cell Key Method."""

# The values of dbt var `disclosure_method` (dbt_project.yml), the one list: the dbt model
# disclosure_pattern and `sozialmonitor run --disclosure` both check against it.
DISCLOSURE_METHODS = ("suppression", "cell_key")
