{#- Gold: the cheapest fare per route, travel dates and UTC day of the search. The carrier is
    the validating carrier of that cheapest offer (the alphabetically first on a tie, so the
    answer is stable); offer_count counts every offer seen that day for those dates. -#}
{{ config(enabled=contracts_enabled(['flights'])) }}

with

offers as (

    select * from {{ ref('fct_flight_offers') }}

),

airports as (

    select iata_code, country_code from {{ ref('dim_airport') }}

),

ranked as (

    select
        origin_iata,
        destination_iata,
        departure_date,
        return_date,
        observed_date,
        total_usd,
        validating_carrier_code,
        row_number() over (
            partition by origin_iata, destination_iata, departure_date, return_date, observed_date
            order by total_usd, validating_carrier_code, observed_at, offer_key
        ) as price_rank,
        count(*) over (
            partition by origin_iata, destination_iata, departure_date, return_date, observed_date
        ) as offer_count
    from offers

),

final as (

    select
        ranked.origin_iata,
        ranked.destination_iata,
        ranked.departure_date,
        ranked.return_date,
        ranked.observed_date,
        ranked.total_usd as cheapest_total_usd,
        ranked.validating_carrier_code as carrier_code,
        cast(ranked.offer_count as integer) as offer_count,
        case
            when origin.country_code is null or destination.country_code is null then null
            when origin.country_code <> destination.country_code then true
            else false
        end as is_international
    from ranked
    left join airports as origin
        on ranked.origin_iata = origin.iata_code
    left join airports as destination
        on ranked.destination_iata = destination.iata_code
    where ranked.price_rank = 1

)

select * from final
