{#- Children per Baublock and Stichtag from the Gesundheitsamt, Jugendamt and Schulamt records. -#}
with records as (
    select * from {{ ref('int_child_records_assigned_to_blocks') }}
    where block_id is not null
)

select
    block_id,
    stichtag,
    {{ keyed_count("source = 'gesundheitsamt_seu'", 'seu_examined') }},
    {{ keyed_count("source = 'gesundheitsamt_seu' and has_language_support_need", 'seu_language_support') }},
    {{ keyed_count("source = 'gesundheitsamt_seu' and is_overweight", 'seu_overweight') }},
    {{ keyed_count("source = 'gesundheitsamt_seu' and has_motor_findings", 'seu_motor_findings') }},
    {{ keyed_count("source = 'gesundheitsamt_seu' and booklet_presented", 'seu_booklet_presented') }},
    {{ keyed_count("source = 'gesundheitsamt_seu' and checkups_incomplete", 'seu_booklet_incomplete') }},
    {{ keyed_count("source = 'gesundheitsamt_seu' and has_non_german_family_language", 'seu_non_german_language') }},
    {{ keyed_count("source = 'jugendamt_kita' and age < 3", 'daycare_under_3') }},
    {{ keyed_count("source = 'jugendamt_kita' and age >= 3 and age < 6", 'daycare_3_to_5') }},
    {{ keyed_count("source = 'schulamt_uebergaenge'", 'school_transitions') }},
    {{ keyed_count("source = 'schulamt_uebergaenge' and is_gymnasium", 'gymnasium_transitions') }}
from records
group by block_id, stichtag
