{{ config(**stichtag_rows()) }}
with source as (
    select * from {{ source('arbeitsagentur', 'ba_labour_market') }}
),

renamed as (
    select
        stichtag,
        block_code as block_id,
        unemployed_total,
        unemployed_total_suppressed,
        unemployed_sgb3,
        unemployed_sgb3_suppressed,
        unemployed_sgb2,
        unemployed_sgb2_suppressed,
        long_term_unemployed,
        long_term_unemployed_suppressed,
        employees_svb,
        employees_svb_suppressed,
        low_earners,
        coalesce(low_earners_suppressed, false) as low_earners_suppressed,
        _record_key,
        _source_file,
        _source_line
    from source
)

select * from renamed
