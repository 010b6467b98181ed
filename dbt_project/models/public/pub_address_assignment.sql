{#- How completely each address-carrying source could be assigned to Baublöcke, per Stichtag:
    published so that readers know how much of each source the numbers cover. -#}
{{ config(alias='address_assignment') }}

select
    source,
    stichtag,
    records,
    assigned,
    unassigned,
    {{ published_round('assignment_rate', 4) }} as assignment_rate
from {{ ref('fct_address_assignment') }}
