{#- Silver airport codes of the immigration files (OurAirports): coordinates split from the one
    "lon, lat" text; continent NA is North America, kept as text. -#}
{{ config(enabled=contracts_enabled(['immigration'])) }}

with

source as (

    select * from {{ source('immigration', 'immigration__airports') }}

),

renamed as (

    select
        {{ contract_field_columns('immigration', 'airports') }},
        cast(trim({{ dbt.split_part('coordinates', "','", 2) }})
            as {{ contract_type('double') }}) as latitude,
        cast(trim({{ dbt.split_part('coordinates', "','", 1) }})
            as {{ contract_type('double') }}) as longitude,
        cast(_fetched_at as {{ dbt.type_timestamp() }}) as _fetched_at
    from source

)

select * from renamed
