{#- Every calendar day from `first_day` to `last_day` (both included) as one `date_day` column.
    `first_day` and `last_day` are SQL date expressions (scalar subqueries allowed), so the
    range is found by the query at run time; dbt.date_spine instead counts the days with a query
    while compiling, which needs a live connection and the upstream tables. The days are offsets
    0..99999 (273 years) built from a cross join of ten digits, the one portable form: Redshift
    has no VALUES tables and no generate_series on compute nodes, and Trino's sequence() stops
    at 10,000 entries. -#}
{% macro date_days(first_day, last_day) -%}

    with

    digits as (
        {% for digit in range(10) -%}
        select {{ digit }} as d{% if not loop.last %} union all {% endif %}
        {%- endfor %}
    ),

    offsets as (
        select
            ones.d + 10 * tens.d + 100 * hundreds.d + 1000 * thousands.d
                + 10000 * ten_thousands.d as day_offset
        from digits as ones
        cross join digits as tens
        cross join digits as hundreds
        cross join digits as thousands
        cross join digits as ten_thousands
    ),

    bounds as (
        select
            cast({{ first_day }} as date) as first_day,
            cast({{ last_day }} as date) as last_day
    ),

    days as (
        select cast({{ dbt.dateadd('day', 'offsets.day_offset', 'bounds.first_day') }} as date)
            as date_day
        from bounds
        cross join offsets
        where offsets.day_offset <= {{ dbt.datediff('bounds.first_day', 'bounds.last_day', 'day') }}
    )

    select date_day from days

{%- endmacro %}
