{#- Gold: one row per RSVP, its newest version (greatest mtime). -#}
{{ config(enabled=contracts_enabled(['events'])) }}

with

latest as (

    select * from {{ ref('int_events__rsvps_latest') }}

),

final as (

    select
        rsvp_id,
        member_id,
        event_id,
        group_id,
        venue_id,
        group_city,
        group_country,
        response,
        cast(case when response = 'yes' then 1 else 0 end as integer) as is_yes,
        guests,
        venue_lat,
        venue_lon,
        cast(version_count as integer) as version_count,
        rsvp_updated_at,
        event_at
    from latest

)

select * from final
