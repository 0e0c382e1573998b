{#- The newest version of every RSVP, and of what each RSVP says about its member, event,
    group and venue. The stream re-sends a changed RSVP with the same rsvp_id and a newer
    mtime; the greatest mtime wins (then the latest fetch, for a version seen twice). -#}
{{ config(enabled=contracts_enabled(['events'])) }}

with

rsvps as (

    select * from {{ ref('stg_events__rsvps') }}

),

ranked as (

    select
        rsvps.*,
        row_number() over (
            partition by rsvp_id order by mtime desc, _fetched_at desc
        ) as version_rank,
        count(*) over (partition by rsvp_id) as version_count
    from rsvps

),

latest as (

    select * from ranked where version_rank = 1

)

select * from latest
