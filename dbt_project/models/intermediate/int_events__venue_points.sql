{#- Public venues as weighted points for clustering: coordinates (from the newest RSVP made
    there), the RSVPs made to events there (newest versions) and the first topic of the group
    with the most of them (ties: first by name). -#}
{{ config(enabled=contracts_enabled(['events'])) }}

with

rsvps as (

    select * from {{ ref('int_events__rsvps_latest') }}
    where venue_id is not null and venue_lat is not null and venue_lon is not null

),

per_topic as (

    select
        venue_id,
        {{ json_first_string('group_topics', 'topic_name') }} as topic_name,
        count(*) as rsvp_count
    from rsvps
    group by venue_id, {{ json_first_string('group_topics', 'topic_name') }}

),

ranked_topics as (

    select
        venue_id,
        topic_name,
        sum(rsvp_count) over (partition by venue_id) as rsvp_count,
        row_number() over (
            partition by venue_id order by rsvp_count desc, topic_name
        ) as topic_rank
    from per_topic

),

ranked_places as (

    select
        venue_id,
        venue_lat,
        venue_lon,
        row_number() over (partition by venue_id order by mtime desc, rsvp_id desc) as recency
    from rsvps

),

final as (

    select
        ranked_places.venue_id,
        ranked_places.venue_lat,
        ranked_places.venue_lon,
        cast(ranked_topics.rsvp_count as bigint) as rsvp_count,
        ranked_topics.topic_name
    from ranked_places
    inner join ranked_topics
        on ranked_places.venue_id = ranked_topics.venue_id
    where ranked_places.recency = 1 and ranked_topics.topic_rank = 1

)

select * from final
