{#- Silver RSVPs: every version the stream sent (a changed RSVP comes again with the same
    rsvp_id and a newer mtime), typed. Ids stay 64-bit; group_country stays as Meetup sends it
    (ISO 3166 alpha-2, lowercase). Epoch milliseconds become UTC timestamps. -#}
{{ config(enabled=contracts_enabled(['events'])) }}

with

source as (

    select * from {{ source('events', 'events__rsvps') }}

),

renamed as (

    select
        ---------- ids
        cast(rsvp_id as bigint) as rsvp_id,
        cast(mtime as bigint) as mtime,
        cast(member_id as bigint) as member_id,
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        cast(group_id as bigint) as group_id,
        cast(venue_id as bigint) as venue_id,

        ---------- the answer
        cast(response as {{ dbt.type_string() }}) as response,
        cast(guests as integer) as guests,
        cast(visibility as {{ dbt.type_string() }}) as visibility,

        ---------- member, event, group, venue
        cast(member_name as {{ dbt.type_string() }}) as member_name,
        cast(event_name as {{ dbt.type_string() }}) as event_name,
        cast(event_url as {{ dbt.type_string() }}) as event_url,
        cast(group_name as {{ dbt.type_string() }}) as group_name,
        cast(group_urlname as {{ dbt.type_string() }}) as group_urlname,
        cast(group_city as {{ dbt.type_string() }}) as group_city,
        cast(group_country as {{ dbt.type_string() }}) as group_country,
        cast(group_state as {{ dbt.type_string() }}) as group_state,
        cast(group_lat as double precision) as group_lat,
        cast(group_lon as double precision) as group_lon,
        cast(group_topics as {{ dbt.type_string() }}) as group_topics,
        cast(venue_name as {{ dbt.type_string() }}) as venue_name,
        cast(venue_lat as double precision) as venue_lat,
        cast(venue_lon as double precision) as venue_lon,

        ---------- timestamps
        cast(rsvp_updated_at as {{ dbt.type_timestamp() }}) as rsvp_updated_at,
        cast(rsvp_updated_date as date) as rsvp_updated_date,
        {{ epoch_ms_to_timestamp('cast(event_time as bigint)') }} as event_at,

        ---------- metadata
        cast(_batch_id as {{ dbt.type_string() }}) as _batch_id,
        cast(_fetched_at as {{ dbt.type_timestamp() }}) as _fetched_at,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as _ingested_at

    from source

)

select * from renamed
