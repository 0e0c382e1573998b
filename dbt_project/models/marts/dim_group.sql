{#- Gold: Meetup groups with their home city and topics, as in their newest RSVP. Topics stay
    the JSON text Meetup sends ([{"urlkey","topic_name"}]); the first topic is pulled out. -#}
{{ config(enabled=contracts_enabled(['events'])) }}

with

rsvps as (

    select * from {{ ref('stg_events__rsvps') }}

),

ranked as (

    select
        group_id,
        group_name,
        group_urlname,
        group_city,
        group_country,
        group_state,
        group_lat,
        group_lon,
        group_topics,
        row_number() over (partition by group_id order by mtime desc, rsvp_id desc) as recency
    from rsvps

),

final as (

    select
        group_id,
        group_name,
        group_urlname,
        group_city,
        group_country,
        group_state,
        group_lat,
        group_lon,
        group_topics,
        {{ json_first_string('group_topics', 'topic_name') }} as first_topic_name
    from ranked
    where recency = 1

)

select * from final
