{#- Gold: one row per city over its whole loaded history. Temperatures are over all hours (not
    a mean of daily means); the wettest day is the local day with the most precipitation, the
    earliest such day on ties. -#}
{{ config(enabled=contracts_enabled(['weather'])) }}
with

daily as (

    select * from {{ ref('agg_weather_daily') }}

),

hourly as (

    select * from {{ ref('fct_weather_hourly') }}

),

locations as (

    select * from {{ ref('dim_location') }}

),

hourly_stats as (

    select
        locations.city,
        avg(hourly.temperature_c) as avg_temperature_c,
        min(hourly.temperature_c) as min_temperature_c,
        max(hourly.temperature_c) as max_temperature_c,
        sum(hourly.precipitation_mm) as total_precipitation_mm
    from hourly
    inner join locations
        on hourly.location_id = locations.location_id
    group by locations.city

),

day_stats as (

    select
        city,
        min(local_date) as first_local_date,
        max(local_date) as last_local_date,
        cast(count(*) as integer) as day_count
    from daily
    group by city

),

ranked_days as (

    select
        city,
        local_date,
        total_precipitation_mm,
        row_number() over (
            partition by city
            order by total_precipitation_mm desc, local_date asc
        ) as wetness_rank
    from daily

),

wettest_day as (

    select
        city,
        local_date as wettest_local_date,
        total_precipitation_mm as wettest_day_precipitation_mm
    from ranked_days
    where wetness_rank = 1

),

final as (

    select
        day_stats.city,
        day_stats.first_local_date,
        day_stats.last_local_date,
        day_stats.day_count,
        hourly_stats.avg_temperature_c,
        hourly_stats.min_temperature_c,
        hourly_stats.max_temperature_c,
        hourly_stats.total_precipitation_mm,
        wettest_day.wettest_local_date,
        wettest_day.wettest_day_precipitation_mm
    from day_stats
    inner join hourly_stats
        on day_stats.city = hourly_stats.city
    inner join wettest_day
        on day_stats.city = wettest_day.city

)

select * from final
