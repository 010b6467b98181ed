"""The suppression pattern: which public cells are withheld, and why (see docs block
`disclosure_pattern`). Primary cells come from `disclosure_cells`; the secondary cells are chosen at
least cost by a mixed-integer programme (HiGHS) that proves, for every primary cell, that an
attacker who holds every public level, the Sozialräume and every earlier release cannot narrow it
to less than the protection width. Code: orchestration/disclosure/."""


def model(dbt, session):
    dbt.config(materialized="table")
    from orchestration.disclosure.pattern import suppression_pattern

    cells = dbt.ref("disclosure_cells").df()
    area_atoms = dbt.ref("disclosure_area_atoms").df()
    atom_values = dbt.ref("disclosure_atom_values").df()
    relations = dbt.ref("disclosure_relations").df()
    released = dbt.source("ops", "released_cells").df()
    secondary = str(dbt.config.get("secondary_suppression")).lower() in ("true", "1", "yes")
    pattern = suppression_pattern(
        cells,
        area_atoms,
        atom_values,
        relations,
        released=released,
        width=float(dbt.config.get("protection_width")),
        secondary=secondary,
        time_limit=float(dbt.config.get("solver_time_limit")),
    )
    return pattern[
        ["stichtag", "level", "area_id", "measure", "value", "min_count", "primary_reason", "reason", "status", "earlier"]
    ]
