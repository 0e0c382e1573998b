{#- Gold: one row per calendar day covering every local date the facts can carry: the UTC
    dates of silver padded by one day each side (no zone is more than a day from UTC). The range
    is read by the query itself (date_days), so the model compiles offline for every target.
    Each enabled source adds its dates: weather's observed hours, immigration's arrival days. -#}
{{ config(enabled=contracts_enabled(['weather', 'immigration'])) }}
{%- set dated = [] -%}
{%- if contracts_enabled(['weather']) -%}
    {%- do dated.append('select min(observed_date) as first_day, max(observed_date) as last_day from ' ~ ref('stg_weather__hourly')) -%}
{%- endif -%}
{%- if contracts_enabled(['immigration']) -%}
    {%- do dated.append('select min(arrival_date) as first_day, max(arrival_date) as last_day from ' ~ ref('stg_immigration__arrivals')) -%}
{%- endif -%}
{%- set ranges = '(' ~ (dated | join(' union all ') if dated else 'select current_date as first_day, current_date as last_day') ~ ') as ranges' -%}

with

spine as (

    {{ date_days(
        dbt.dateadd('day', -1, '(select min(first_day) from ' ~ ranges ~ ')'),
        dbt.dateadd('day', 1, '(select max(last_day) from ' ~ ranges ~ ')')
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
