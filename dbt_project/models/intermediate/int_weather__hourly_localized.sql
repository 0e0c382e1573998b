{#- Each hourly observation placed on its city's own calendar: the local wall-clock time and
    local date in the city's IANA zone, so a day with a daylight-saving change has 23 or 25
    hours. -#}
{{ config(enabled=contracts_enabled(['weather'])) }}
with

hourly as (

    select * from {{ ref('stg_weather__hourly') }}

),

locations as (

    select * from {{ ref('stg_weather__locations') }}

),

localized as (

    select
        hourly.*,
        {{ to_local_timestamp('hourly.observed_at', 'locations.timezone') }}
            as local_observed_at
    from hourly
    inner join locations
        on hourly.location_id = locations.location_id

),

final as (

    select
        *,
        cast(local_observed_at as date) as local_date
    from localized

)

select * from final
