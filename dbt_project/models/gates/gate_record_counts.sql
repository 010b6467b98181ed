{#- Input of the quality gate `record_counts`: the rows loaded per source and Stichtag (the latest
    load of each, from the ingest's load log) against the previous Stichtag of the same source (of
    the same Gemeinde, for a source each Stadt of a Kreis delivers on its own). A
    delivery cut at a row boundary, a filtered or a doubled export shows here as a jump. The limits
    per source, the smallest deliveries compared and the explained changes are in
    data_quality/gates.yml: the gate applies them to change_pct. -#}
with latest as (
    select source, gemeinde, stichtag, rows
    from {{ source('ingest', '_load_log') }}
    where stichtag is not null
    -- the latest load by its number, not its local time (orchestration/ingest/loader.py LATEST_LOAD_FIRST)
    qualify row_number() over (
        partition by source, gemeinde, stichtag order by load_no desc nulls last, loaded_at desc
    ) = 1
),

changes as (
    select
        source,
        gemeinde,
        stichtag,
        rows,
        lag(stichtag) over (partition by source, gemeinde order by stichtag) as previous_stichtag,
        lag(rows) over (partition by source, gemeinde order by stichtag) as previous_rows
    from latest
)

select
    -- what one file of a Stichtag is: the source, or one Gemeinde's part (loader.delivery_name)
    source || coalesce('@' || gemeinde, '') as delivery,
    source,
    gemeinde,
    stichtag,
    previous_stichtag,
    previous_rows,
    rows,
    -- cast before the division: a decimal on Spark otherwise (on DuckDB the same double)
    round(cast(100 * (rows - previous_rows) as double) / previous_rows, 2) as change_pct,
    abs(cast(100 * (rows - previous_rows) as double) / previous_rows) as abs_change_pct
from changes
