{#- Gold: one row per calendar day covering every local date the facts can carry: the UTC
    dates of silver padded by one day each side (no zone is more than a day from UTC). Built
    with dbt's cross-database date_spine so it compiles for duckdb, athena and redshift. -#}
{%- set hourly = ref('stg_weather__hourly') -%}
{%- set first_day = dbt.dateadd('day', -1, '(select min(observed_date) from ' ~ hourly ~ ')') -%}
{%- set day_after_last = dbt.dateadd('day', 2, '(select max(observed_date) from ' ~ hourly ~ ')') -%}

with

spine as (

    {{ dbt.date_spine('day', first_day, day_after_last) }}

),

days as (

    select cast(date_day as date) as date_day
    from spine

),

final as (

    select
        date_day,
        cast(extract(year from date_day) as integer) as year,
        cast(extract(quarter from date_day) as integer) as quarter,
        cast(extract(month from date_day) as integer) as month,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start_date,
        cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start_date
    from days

)

select * from final
