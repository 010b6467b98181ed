{#- Input of the quality gate `address_assignment`: the share of each source's records assigned to
    a Baublock, per Stichtag. The thresholds per source are in data_quality/gates.yml. -#}
select source, stichtag, records, assigned, unassigned, assignment_rate
from {{ ref('fct_address_assignment') }}
