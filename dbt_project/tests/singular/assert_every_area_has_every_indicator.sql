{#- Every unit valid at a Stichtag has a row for every catalogue indicator at that Stichtag. The
    same view is the input of the quality gate `completeness` (data_quality/suites.py): one logic,
    two consumers. Returns the levels and Stichtage with missing values (first_missing names one);
    in an incremental build, from the earliest rebuilt Stichtag on (macros/tested_stichtage.sql).
    The ref below keeps the test attached to the mart, so that `dbt build` skips what is built on it. -#}
-- depends_on: {{ ref('fct_indicator_values') }}

select *
from {{ ref('gate_completeness') }}
where present_values <> expected_values
    and {{ stichtag_tested('stichtag', 'from_earliest') }}
