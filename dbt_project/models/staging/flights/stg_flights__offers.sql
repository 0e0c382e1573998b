{#- Silver flight offers: one row per offer of one search. The API's offer id is only a
    position in its answer, so an offer is identified by its search (origin, destination,
    departure and return dates, observed_at = the fetch time) and its content (validating
    carrier, each segment's carrier, flight number and local departure date in order, cabin
    and fare basis), hashed into offer_key. Amounts are exact decimals in USD (the contract only
    admits USD answers). -#}
{{ config(enabled=contracts_enabled(['flights'])) }}

with

source as (

    select * from {{ source('flights', 'flights__offers') }}

),

segments as (

    select * from {{ ref('stg_flights__segments') }}

),

renamed as (

    select
        ---------- the search
        cast(search_key as {{ dbt.type_string() }}) as search_key,
        cast(origin_location_code as {{ dbt.type_string() }}) as origin_iata,
        cast(destination_location_code as {{ dbt.type_string() }}) as destination_iata,
        cast(departure_date as date) as departure_date,
        cast(return_date as date) as return_date,
        cast(observed_at as {{ dbt.type_timestamp() }}) as observed_at,
        cast(observed_date as date) as observed_date,

        ---------- the offer
        cast(offer_id as {{ dbt.type_string() }}) as offer_position,
        {{ json_first_string('validating_airline_codes') }} as validating_carrier_code,
        {{ json_first_string('traveler_pricings', 'cabin') }} as cabin,
        {{ json_first_string('traveler_pricings', 'class') }} as booking_class,
        {{ json_first_string('traveler_pricings', 'fareBasis') }} as fare_basis,
        cast(source as {{ dbt.type_string() }}) as offer_source,
        cast(number_of_bookable_seats as integer) as bookable_seats,
        cast(last_ticketing_date as date) as last_ticketing_date,

        ---------- amounts
        cast(price_currency as {{ dbt.type_string() }}) as currency_code,
        cast(price_total as decimal(12, 2)) as total_usd,
        cast(price_base as decimal(12, 2)) as base_usd,
        cast(price_grand_total as decimal(12, 2)) as grand_total_usd,

        ---------- metadata
        cast(_batch_id as {{ dbt.type_string() }}) as _batch_id,
        cast(_fetched_at as {{ dbt.type_timestamp() }}) as _fetched_at,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as _ingested_at

    from source

),

flights as (

    select
        search_key,
        observed_at,
        offer_position,
        {{ dbt.listagg(
            "carrier_code || flight_number || '@' || cast(departure_date_local as "
                ~ dbt.type_string() ~ ")",
            "'|'",
            "order by segment_number") }} as flights_signature
    from segments
    group by search_key, observed_at, offer_position

),

final as (

    select
        {{ dbt.hash(
            "renamed.origin_iata || '|' || renamed.destination_iata"
            ~ " || '|' || cast(renamed.departure_date as " ~ dbt.type_string() ~ ")"
            ~ " || '|' || coalesce(cast(renamed.return_date as " ~ dbt.type_string() ~ "), '')"
            ~ " || '|' || cast(renamed.observed_at as " ~ dbt.type_string() ~ ")"
            ~ " || '|' || coalesce(renamed.validating_carrier_code, '')"
            ~ " || '|' || coalesce(flights.flights_signature, '')"
            ~ " || '|' || coalesce(renamed.cabin, '')"
            ~ " || '|' || coalesce(renamed.fare_basis, '')") }} as offer_key,
        renamed.*,
        flights.flights_signature
    from renamed
    left join flights
        on renamed.search_key = flights.search_key
        and renamed.observed_at = flights.observed_at
        and renamed.offer_position = flights.offer_position

)

select * from final
