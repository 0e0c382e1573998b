{#- Gold: daily weather per city on the city's own calendar. A day with a daylight-saving change
    has 23 or 25 observations; the first and last days of the loaded range may be partial, which
    observation_count shows. -#}
{{ config(enabled=contracts_enabled(['weather'])) }}
with

hourly as (

    select * from {{ ref('fct_weather_hourly') }}

),

locations as (

    select * from {{ ref('dim_location') }}

),

daily as (

    select
        locations.city,
        hourly.local_date,
        cast(count(*) as integer) as observation_count,
        avg(hourly.temperature_c) as avg_temperature_c,
        min(hourly.temperature_c) as min_temperature_c,
        max(hourly.temperature_c) as max_temperature_c,
        sum(hourly.precipitation_mm) as total_precipitation_mm
    from hourly
    inner join locations
        on hourly.location_id = locations.location_id
    group by locations.city, hourly.local_date

)

select * from daily
