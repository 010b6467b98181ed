{#- The cells earlier releases published or withheld, as the pipeline wrote them into
    ops.released_cells: every row and column unchanged. disclosure_pattern (a Python model) reads
    it here, never the source itself. -#}
select * from {{ source('ops', 'released_cells') }}
