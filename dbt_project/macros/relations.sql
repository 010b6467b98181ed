{#- The relations between measures that the Kennzahlenkatalog declares (`within`, `partitions`;
    rendered into catalogue_registry().relations), for the model disclosure_relations: a list of
    (relation id, sense, [(measure, coefficient)]) meaning sum(coefficient × measure) = 0 or <= 0.
    A `checked` relation is between measures bounded by age only: it is kept only where the age
    intervals, with this run's vars, say it holds, and a `within` between two equal intervals
    becomes an equation. -#}
{% macro catalogue_relations() %}
    {%- set out = [] -%}
    {%- for r in catalogue_registry().relations -%}
        {%- set relation = namespace(id=r.id, sense=r.sense, holds=true) -%}
        {%- if r.checked -%}
            {%- set left = age_interval(r.left[0]) -%}
            {%- set right = [] -%}
            {%- for m in r.right %}{% do right.append(age_interval(m)) %}{% endfor -%}
            {%- if r.sense == '=' -%}
                {%- set relation.holds = ages_partition(left, right) -%}
            {%- elif r.equal_id and left == right[0] -%}
                {%- set relation.holds = not r.equal_declared_before -%}
                {%- set relation.id = r.equal_id -%}
                {%- set relation.sense = '=' -%}
            {%- else -%}
                {%- set relation.holds = ages_cover(left, right) -%}
            {%- endif -%}
        {%- endif -%}
        {%- if relation.holds -%}
            {%- set terms = [] -%}
            {%- for m in r.left %}{% do terms.append((m, 1)) %}{% endfor -%}
            {%- for m in r.right %}{% do terms.append((m, -1)) %}{% endfor -%}
            {%- do out.append((relation.id, relation.sense, terms)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(out) }}
{% endmacro %}

{#- A measure's ages as [low, high) in whole years with this run's vars; a measure without an age
    condition counts every record: [0, 1000). -#}
{% macro age_interval(measure) %}
    {%- set ages = catalogue_registry().ages.get(measure) -%}
    {%- if ages is none %}{{ return([0, 1000]) }}{% endif -%}
    {{ return([age_bound(ages.low), age_bound(ages.high) if ages.high else 1000]) }}
{% endmacro %}

{% macro age_bound(bound) %}
    {{ return(((var(bound.var) | int) if bound.var else 0) + bound.add) }}
{% endmacro %}

{#- Whether the union of the intervals `parts` covers the interval `whole`. -#}
{% macro ages_cover(whole, parts) %}
    {%- set reach = namespace(at=whole[0]) -%}
    {%- for _ in parts -%}{%- for part in parts -%}
        {%- if part[0] <= reach.at and reach.at < part[1] %}{% set reach.at = part[1] %}{% endif -%}
    {%- endfor -%}{%- endfor -%}
    {{ return(reach.at >= whole[1]) }}
{% endmacro %}

{#- Whether the intervals `parts`, one after the other without gap or overlap, make up `whole`. -#}
{% macro ages_partition(whole, parts) %}
    {%- set chain = namespace(at=whole[0], ok=true) -%}
    {%- for part in parts | sort(attribute='0') -%}
        {%- if part[0] != chain.at or part[1] < part[0] %}{% set chain.ok = false %}{% endif -%}
        {%- set chain.at = part[1] -%}
    {%- endfor -%}
    {{ return(chain.ok and chain.at == whole[1]) }}
{% endmacro %}
