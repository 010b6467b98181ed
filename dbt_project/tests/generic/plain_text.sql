{#- Free text fit for public files (issue 15): not blank, at most max_length characters, and no
    control or invisible format characters (C0/C1 controls, DEL, line/paragraph separators, zero-width
    space, bidirectional marks, overrides and isolates, word joiner, byte order mark). The same rule
    as orchestration/release/public_text.py, which checks every text of a release again. -#}
{% test plain_text(model, column_name, max_length=200) %}
{#- a set block: its text is taken as it is (a Jinja string literal would read the backslashes) -#}
{%- set invisible -%}
[\x00-\x1F\x7F-\x9F\x{2028}\x{2029}\x{200B}\x{200E}\x{200F}\x{202A}-\x{202E}\x{2060}-\x{2064}\x{2066}-\x{2069}\x{FEFF}\x{FFF9}-\x{FFFB}]
{%- endset %}
select {{ column_name }} as failing_text, length({{ column_name }}) as characters
from {{ model }}
where {{ column_name }} is not null and (
    trim({{ column_name }}) = ''
    or length({{ column_name }}) > {{ max_length }}
    or {{ sozialmonitor.matches_pattern(column_name, invisible) }}
)
{% endtest %}
