{#- Gold: conformed airport dimension (flights now, the immigration files later). One row per
    IATA code; where OurAirports lists a code twice, the larger airport type wins. The time zone
    comes from the coordinates (timezonefinder), never typed by hand. -#}
{{ config(enabled=contracts_enabled(['flights', 'immigration'])) }}

with

airports as (

    select * from {{ ref('stg_flights__airports') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by iata_code
            order by
                case airport_type
                    when 'large_airport' then 1
                    when 'medium_airport' then 2
                    when 'small_airport' then 3
                    else 4
                end,
                ident
        ) as code_rank
    from airports

),

final as (

    select
        iata_code,
        name,
        municipality,
        country_code,
        latitude,
        longitude,
        timezone
    from ranked
    where code_rank = 1

)

select * from final
