"""The Kennzahlenkatalog (dbt_project/catalogue/kennzahlenkatalog.yml): load, validate, generate.

The YAML file is the single source of truth for every indicator, the measures they are built from
(and how a model counts them) and the composite indices. The package validates it against a schema
and across its parts (every numerator is a known measure, every source has a contract, …); a wrong
entry raises `CatalogueError` naming the file, the indicator (or measure) and the field.

`generate()` (`sozialmonitor catalogue`, and before every dbt invocation) renders what dbt reads
from it, so nothing is written twice, into the deployment's folder dbt_project/generated/<…>/
(settings.generated_folder: `default` for the shipped contracts):
- seeds/indicator_catalogue.csv: one row per indicator (formula, metadata, gate thresholds,
  disclosure rule), read by the models, the gates and the release (published metadata); the same
  file as tests/fixtures/indicator_catalogue.csv for the dbt unit tests;
- seeds/measure_catalogue.csv: one row per measure (kind, source, description);
- macros/catalogue.sql: the measure registry the dbt models loop over (indented JSON);
- models/_indicator_views.yml and models/marts/indicators_<level>.sql: the wide views, one per
  level of the deployment above the Baublock (a Kreis's `indicators_kreis` too), with one
  described column per indicator;
- models/_sources.yml and macros/deployment.sql: the dbt sources of the raw schema and the tables
  that carry a Gemeinde, rendered from the source contracts (not from the catalogue).
The generated folders are ignored by git: every path that runs dbt renders them first
(orchestration.pipeline.prepare_dbt, called by run_dbt and by the Dagster dbt asset), so a run
never writes a tracked file and a fresh clone needs nothing else. Each file (a README.md for the
CSV seeds) says it is generated.

`export_csv()` / `export_markdown()` give the working group the catalogue as a table.

Modules, each importing only those listed before it: `model` (schema, reading the file),
`registry` (what the dbt macros read: the measures per model with their conditions, the relations
between measures), `validate` (the checks across entries; `load`), `seeds` (rows of the CSV seeds),
`render` (the generated files, `generate`), `export`. Import from the package, not from its modules.
"""

from .export import export_csv, export_markdown
from .model import CATALOGUE_FILE, Catalogue, CatalogueError, Indicator, Measure, default_path
from .render import GENERATED_DIRS, MACROS, MODELS, SEEDS, generate, project_levels, render_sources_yml, rendered_files
from .seeds import INDICATOR_COLUMNS
from .validate import load

__all__ = [
    "CATALOGUE_FILE",
    "GENERATED_DIRS",
    "INDICATOR_COLUMNS",
    "MACROS",
    "MODELS",
    "SEEDS",
    "Catalogue",
    "CatalogueError",
    "Indicator",
    "Measure",
    "default_path",
    "export_csv",
    "export_markdown",
    "generate",
    "load",
    "project_levels",
    "render_sources_yml",
    "rendered_files",
]
