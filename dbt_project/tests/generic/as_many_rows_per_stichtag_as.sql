{#- The model has, at every Stichtag, as many rows as `other`: a model that gives each row of
    `other` one row (a left join to reference data, say) neither dropped nor repeated one. With a
    unique key on `other`, this makes that key unique in the model too, for the cost of two counts
    instead of grouping the model by the key. Returns the Stichtage whose counts differ. In an
    incremental build it counts the Stichtage the model's other tests check (macros/
    tested_stichtage.sql), in both relations. -#}
{% test as_many_rows_per_stichtag_as(model, other) %}
{%- set scope = _generic_test_stichtag_scope() %}

with tested as (
    select stichtag, count(*) as model_rows
    from {{ model }}
    group by stichtag
),

expected as (
    select stichtag, count(*) as other_rows
    from {{ other }}
    where {{ scope if scope is not none else '(1 = 1)' }}
    group by stichtag
)

select coalesce(t.stichtag, e.stichtag) as stichtag, t.model_rows, e.other_rows
from tested as t
full outer join expected as e on t.stichtag is not distinct from e.stichtag
where t.model_rows is null or e.other_rows is null or t.model_rows <> e.other_rows
{% endtest %}
