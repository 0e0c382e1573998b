{#- Silver itineraries: one row per search (search_key, observed_at), offer position and
    direction. The API gives an itinerary no id; its segments (JSON text in bronze) start at the
    search's origin when it is the outbound one. Durations are door to door, connections
    included. -#}
{{ config(enabled=contracts_enabled(['flights'])) }}

with

source as (

    select * from {{ source('flights', 'flights__itineraries') }}

),

renamed as (

    select
        cast(search_key as {{ dbt.type_string() }}) as search_key,
        cast(observed_at as {{ dbt.type_timestamp() }}) as observed_at,
        cast(offer_id as {{ dbt.type_string() }}) as offer_position,
        cast(origin_location_code as {{ dbt.type_string() }}) as origin_iata,
        cast(destination_location_code as {{ dbt.type_string() }}) as destination_iata,
        cast(segments_json as {{ dbt.type_string() }}) as segments_json,
        {{ json_first_string('segments_json', 'iataCode') }} as first_departure_iata,
        -- segments = occurrences of "departure": in the JSON text
        cast(
            ({{ dbt.length('segments_json') }}
                - {{ dbt.length(dbt.replace('segments_json', "'\"departure\":'", "''")) }})
            / {{ dbt.length("'\"departure\":'") }}
            as integer
        ) as segment_count,
        cast(duration as {{ dbt.type_string() }}) as duration_iso,
        {{ iso8601_duration_minutes('duration') }} as duration_minutes,
        cast(observed_date as date) as observed_date,
        cast(_batch_id as {{ dbt.type_string() }}) as _batch_id,
        cast(_fetched_at as {{ dbt.type_timestamp() }}) as _fetched_at,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as _ingested_at
    from source

),

final as (

    select
        search_key,
        observed_at,
        offer_position,
        case when first_departure_iata = origin_iata then 'outbound' else 'return' end
            as direction,
        first_departure_iata,
        segment_count,
        segment_count - 1 as stops,
        duration_iso,
        duration_minutes,
        -- the contract's key: the segments tell an offer's two directions apart
        segments_json,
        origin_iata,
        destination_iata,
        observed_date,
        _batch_id,
        _fetched_at,
        _ingested_at
    from renamed

)

select * from final
