{#- Gold: the cities, from the weather contract via stg_weather__locations. -#}
{{ config(enabled=contracts_enabled(['weather'])) }}
with

locations as (

    select * from {{ ref('stg_weather__locations') }}

),

final as (

    select
        location_id,
        city,
        latitude,
        longitude,
        timezone
    from locations

)

select * from final
