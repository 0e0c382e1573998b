{#- Gold: public venues with their coordinates, as in their newest RSVP. Private venues are
    never sent, so they are not here (an RSVP to one has no venue_id). -#}
{{ config(enabled=contracts_enabled(['events'])) }}

with

rsvps as (

    select * from {{ ref('stg_events__rsvps') }}
    where venue_id is not null

),

ranked as (

    select
        venue_id,
        venue_name,
        venue_lat,
        venue_lon,
        group_city,
        group_country,
        row_number() over (partition by venue_id order by mtime desc, rsvp_id desc) as recency
    from rsvps

),

final as (

    select venue_id, venue_name, venue_lat, venue_lon, group_city, group_country
    from ranked
    where recency = 1

)

select * from final
