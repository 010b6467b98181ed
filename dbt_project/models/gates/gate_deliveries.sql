{#- Input of the quality gate `deliveries`: in a Kreis, each Stadt delivers some sources on its own
    (contract key delivered_per: gemeinde). One row per such source, Stichtag for which any Stadt
    delivered it, and Gemeinde of the Gebietsgliederung valid at that Stichtag: whether that
    Gemeinde's file is loaded (the latest load of the log), and whether the Gemeinde delivers the
    source at all (at any Stichtag; a Stadt without Stadtviertel sends no housing file per
    Stadtviertel). A Stadt that delivers a source but not for one Stichtag would make that
    Stichtag's Kreis totals wrong; data_quality/gates.yml names the sources every Gemeinde must
    deliver (the register: without it a Stadt has no residents). No rows in a single city. -#}
with loads as (
    select distinct source, gemeinde, stichtag
    from {{ source('ingest', '_load_log') }}
    where gemeinde is not null and stichtag is not null
),

delivering as (
    select distinct source, gemeinde
    from loads
),

delivered_days as (
    select distinct source, stichtag
    from loads
),

gemeinden as (
    select area_id as gemeinde, area_name as gemeinde_name, valid_from, valid_to
    from {{ ref('stg_geo__areas') }}
    where level = 'gemeinde'
),

expected as (
    select d.source, d.stichtag, g.gemeinde, g.gemeinde_name
    from delivered_days as d
    inner join gemeinden as g
        on {{ valid_at('g', 'd.stichtag') }}
)

select
    e.source,
    e.stichtag,
    e.gemeinde,
    e.gemeinde_name,
    l.gemeinde is not null as delivered,
    s.gemeinde is not null as delivers_source
from expected as e
left join loads as l
    on e.source = l.source
    and e.gemeinde = l.gemeinde
    and e.stichtag = l.stichtag
left join delivering as s
    on e.source = s.source
    and e.gemeinde = s.gemeinde
