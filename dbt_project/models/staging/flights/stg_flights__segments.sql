{#- Silver flight segments: one row per search (search_key, observed_at), offer position and
    segment id. Times stay the airport's wall-clock time (the API sends no offset) and also get
    UTC through each airport's zone (stg_flights__airports, from OurAirports + timezonefinder).
    Direction: segment ids ascend over the outbound then the return itinerary, so a segment is
    outbound up to the first one that lands at the search's destination. -#}
{{ config(enabled=contracts_enabled(['flights'])) }}

with

source as (

    select * from {{ source('flights', 'flights__segments') }}

),

airports as (

    select iata_code, timezone from {{ ref('stg_flights__airports') }}

),

renamed as (

    select
        ---------- ids
        cast(search_key as {{ dbt.type_string() }}) as search_key,
        cast(offer_id as {{ dbt.type_string() }}) as offer_position,
        cast(segment_id as {{ dbt.type_string() }}) as segment_id,
        cast(segment_id as integer) as segment_number,
        cast(origin_location_code as {{ dbt.type_string() }}) as origin_iata,
        cast(destination_location_code as {{ dbt.type_string() }}) as destination_iata,

        ---------- the flight
        cast(carrier_code as {{ dbt.type_string() }}) as carrier_code,
        cast(flight_number as {{ dbt.type_string() }}) as flight_number,
        cast(operating_carrier_code as {{ dbt.type_string() }}) as operating_carrier_code,
        cast(aircraft_code as {{ dbt.type_string() }}) as aircraft_code,
        cast(departure_iata_code as {{ dbt.type_string() }}) as departure_iata,
        cast(departure_terminal as {{ dbt.type_string() }}) as departure_terminal,
        cast(arrival_iata_code as {{ dbt.type_string() }}) as arrival_iata,
        cast(arrival_terminal as {{ dbt.type_string() }}) as arrival_terminal,
        cast(number_of_stops as integer) as number_of_stops,
        cast(duration as {{ dbt.type_string() }}) as duration_iso,
        {{ iso8601_duration_minutes('duration') }} as duration_minutes,

        ---------- timestamps
        cast(departure_at as {{ dbt.type_timestamp() }}) as departure_at_local,
        cast(arrival_at as {{ dbt.type_timestamp() }}) as arrival_at_local,
        cast(observed_at as {{ dbt.type_timestamp() }}) as observed_at,
        cast(observed_date as date) as observed_date,

        ---------- metadata
        cast(_batch_id as {{ dbt.type_string() }}) as _batch_id,
        cast(_fetched_at as {{ dbt.type_timestamp() }}) as _fetched_at,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as _ingested_at

    from source

),

last_outbound as (

    select
        search_key,
        observed_at,
        offer_position,
        min(case when arrival_iata = destination_iata then segment_number end)
            as last_outbound_segment
    from renamed
    group by search_key, observed_at, offer_position

),

final as (

    select
        renamed.search_key,
        renamed.observed_at,
        renamed.offer_position,
        renamed.segment_id,
        renamed.segment_number,
        case
            when renamed.segment_number <= last_outbound.last_outbound_segment then 'outbound'
            else 'return'
        end as direction,
        renamed.carrier_code,
        renamed.flight_number,
        renamed.operating_carrier_code,
        renamed.aircraft_code,
        renamed.departure_iata,
        renamed.departure_terminal,
        renamed.arrival_iata,
        renamed.arrival_terminal,
        renamed.number_of_stops,
        renamed.duration_iso,
        renamed.duration_minutes,
        renamed.departure_at_local,
        renamed.arrival_at_local,
        cast(renamed.departure_at_local as date) as departure_date_local,
        {{ from_local_timestamp('renamed.departure_at_local', 'departure_airport.timezone') }}
            as departure_at_utc,
        {{ from_local_timestamp('renamed.arrival_at_local', 'arrival_airport.timezone') }}
            as arrival_at_utc,
        renamed.origin_iata,
        renamed.destination_iata,
        renamed.observed_date,
        renamed._batch_id,
        renamed._fetched_at,
        renamed._ingested_at
    from renamed
    inner join last_outbound
        on renamed.search_key = last_outbound.search_key
        and renamed.observed_at = last_outbound.observed_at
        and renamed.offer_position = last_outbound.offer_position
    left join airports as departure_airport
        on renamed.departure_iata = departure_airport.iata_code
    left join airports as arrival_airport
        on renamed.arrival_iata = arrival_airport.iata_code

)

select * from final
