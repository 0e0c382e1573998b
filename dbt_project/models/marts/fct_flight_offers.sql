{#- Gold fact: one row per offer per search. The search is origin, destination, departure and
    return dates and observed_at (when it was fetched, UTC); offer_key hashes the search and the
    offer's content (never the API's positional id). Amounts are exact USD decimals; stops and
    door-to-door minutes each way come from the itineraries, the first departure in UTC from
    the segments (local time through the airport's zone). -#}
{{ config(enabled=contracts_enabled(['flights'])) }}

with

offers as (

    select * from {{ ref('stg_flights__offers') }}

),

itineraries as (

    select * from {{ ref('stg_flights__itineraries') }}

),

segments as (

    select * from {{ ref('stg_flights__segments') }}

),

ways as (

    select
        search_key,
        observed_at,
        offer_position,
        max(case when direction = 'outbound' then stops end) as outbound_stops,
        max(case when direction = 'outbound' then duration_minutes end)
            as outbound_duration_minutes,
        max(case when direction = 'return' then stops end) as return_stops,
        max(case when direction = 'return' then duration_minutes end)
            as return_duration_minutes
    from itineraries
    group by search_key, observed_at, offer_position

),

first_segments as (

    select
        *,
        row_number() over (
            partition by search_key, observed_at, offer_position, direction
            order by segment_number
        ) as segment_rank
    from segments

),

departures as (

    -- each direction's first flight
    select
        search_key,
        observed_at,
        offer_position,
        max(case when direction = 'outbound' then departure_at_local end)
            as outbound_departure_at_local,
        max(case when direction = 'outbound' then departure_at_utc end)
            as outbound_departure_at_utc,
        max(case when direction = 'return' then departure_at_local end)
            as return_departure_at_local,
        max(case when direction = 'return' then departure_at_utc end)
            as return_departure_at_utc
    from first_segments
    where segment_rank = 1
    group by search_key, observed_at, offer_position

),

final as (

    select
        ---------- ids
        offers.offer_key,
        offers.search_key,
        offers.offer_position,

        ---------- the search
        offers.origin_iata,
        offers.destination_iata,
        offers.departure_date,
        offers.return_date,
        offers.observed_at,
        offers.observed_date,
        {{ dbt.datediff('offers.observed_date', 'offers.departure_date', 'day') }}
            as days_before_departure,

        ---------- the offer
        offers.validating_carrier_code,
        offers.cabin,
        offers.booking_class,
        offers.fare_basis,
        offers.bookable_seats,
        offers.last_ticketing_date,
        offers.flights_signature,
        ways.outbound_stops,
        ways.outbound_duration_minutes,
        ways.return_stops,
        ways.return_duration_minutes,
        departures.outbound_departure_at_local,
        departures.outbound_departure_at_utc,
        departures.return_departure_at_local,
        departures.return_departure_at_utc,

        ---------- measures (exact USD)
        offers.total_usd,
        offers.base_usd,
        offers.total_usd - offers.base_usd as taxes_usd,
        offers.grand_total_usd,

        ---------- metadata
        offers._batch_id,
        offers._fetched_at,
        offers._ingested_at

    from offers
    left join ways
        on offers.search_key = ways.search_key
        and offers.observed_at = ways.observed_at
        and offers.offer_position = ways.offer_position
    left join departures
        on offers.search_key = departures.search_key
        and offers.observed_at = departures.observed_at
        and offers.offer_position = departures.offer_position

)

select * from final
