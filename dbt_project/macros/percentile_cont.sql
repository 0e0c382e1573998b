{#- The continuous percentile of `column` in a group (an aggregate, like percentile_cont(f)
    within group (order by column)): linear interpolation between the two nearest ranks of the
    non-null values. DuckDB, PostgreSQL and Redshift have it; Athena (Trino) has only the
    approximate approx_percentile, so there the exact value is interpolated from the sorted array
    of the group's values (element_at of an empty array is null, as the others give). -#}
{% macro percentile_cont(column, fraction) -%}
    {{ return(adapter.dispatch('percentile_cont', 'lakehouse')(column, fraction)) }}
{%- endmacro %}

{% macro default__percentile_cont(column, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ column }})
{%- endmacro %}

{% macro athena__percentile_cont(column, fraction) -%}
    {%- set sorted -%}array_sort(array_agg({{ column }}) filter (where {{ column }} is not null)){%- endset -%}
    {%- set position -%}({{ fraction }} * (count({{ column }}) - 1)){%- endset -%}
    (
        element_at({{ sorted }}, cast(floor({{ position }}) as integer) + 1)
        + ({{ position }} - floor({{ position }}))
        * (
            element_at({{ sorted }}, cast(ceil({{ position }}) as integer) + 1)
            - element_at({{ sorted }}, cast(floor({{ position }}) as integer) + 1)
        )
    )
{%- endmacro %}
