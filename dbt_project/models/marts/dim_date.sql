{#- Gold: one row per calendar day covering every local date the facts can carry: the UTC
    dates of silver padded by one day each side (no zone is more than a day from UTC). The range
    is read by the query itself (date_days), so the model compiles offline for every target. -#}
{{ config(enabled=contracts_enabled(['weather'])) }}
{%- set hourly = ref('stg_weather__hourly') -%}

with

spine as (

    {{ date_days(
        dbt.dateadd('day', -1, '(select min(observed_date) from ' ~ hourly ~ ')'),
        dbt.dateadd('day', 1, '(select max(observed_date) from ' ~ hourly ~ ')')
    ) }}

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
