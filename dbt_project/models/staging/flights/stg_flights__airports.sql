{#- Silver airports, conformed (flights now, the immigration files later): OurAirports'
    airport-codes rows (seed airport_codes, its exact layout) with coordinates split from the
    one "lon, lat" text and the IANA zone derived from them (seed airport_timezones, written by
    `python -m lakehouse.geo` with timezonefinder). One row per IATA code: closed airports and
    rows without one are left out. -#}
{{ config(enabled=contracts_enabled(['flights', 'immigration'])) }}

with

codes as (

    select * from {{ ref('airport_codes') }}

),

zones as (

    select * from {{ ref('airport_timezones') }}

),

renamed as (

    select
        cast(codes.ident as {{ dbt.type_string() }}) as ident,
        cast(codes.iata_code as {{ dbt.type_string() }}) as iata_code,
        cast(codes.name as {{ dbt.type_string() }}) as name,
        cast(codes.type as {{ dbt.type_string() }}) as airport_type,
        cast(codes.municipality as {{ dbt.type_string() }}) as municipality,
        cast(codes.iso_country as {{ dbt.type_string() }}) as country_code,
        cast(codes.iso_region as {{ dbt.type_string() }}) as region_code,
        cast(codes.continent as {{ dbt.type_string() }}) as continent_code,
        cast(nullif(trim(codes.elevation_ft), '') as integer) as elevation_ft,
        cast(trim({{ dbt.split_part('codes.coordinates', "','", 2) }})
            as {{ contract_type('double') }}) as latitude,
        cast(trim({{ dbt.split_part('codes.coordinates', "','", 1) }})
            as {{ contract_type('double') }}) as longitude,
        cast(zones.timezone as {{ dbt.type_string() }}) as timezone
    from codes
    left join zones
        on codes.ident = zones.ident

),

final as (

    select * from renamed
    where iata_code is not null
        and trim(iata_code) <> ''
        and airport_type <> 'closed'

)

select * from final
