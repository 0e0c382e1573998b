{#- Gold: events, as described by their newest RSVP. -#}
{{ config(enabled=contracts_enabled(['events'])) }}

with

rsvps as (

    select * from {{ ref('stg_events__rsvps') }}

),

ranked as (

    select
        event_id,
        group_id,
        event_name,
        event_url,
        event_at,
        row_number() over (partition by event_id order by mtime desc, rsvp_id desc) as recency
    from rsvps

),

final as (

    select event_id, group_id, event_name, event_url, event_at
    from ranked
    where recency = 1

)

select * from final
