"""Disclosure control: the linked table of published counts, primary and secondary suppression
(least cost, HiGHS), the attacker audit (linear programming) and the Cell Key Method."""
