{#- Silver: the cities of the weather contract as a relation. The contract is this source
    (lakehouse/contracts/weather.yml), so nothing here restates a city. -#}
with

contract_cities as (

    {{ contract_cities('weather') }}

),

renamed as (

    select
        ---------- ids
        city_id as location_id,

        ---------- dimensions
        city_name as city,
        timezone,

        ---------- numerics
        latitude,
        longitude

    from contract_cities

)

select * from renamed
