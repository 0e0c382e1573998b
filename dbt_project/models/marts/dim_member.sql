{#- Gold: Meetup members, named as in their newest RSVP. -#}
{{ config(enabled=contracts_enabled(['events'])) }}

with

rsvps as (

    select * from {{ ref('stg_events__rsvps') }}

),

ranked as (

    select
        member_id,
        member_name,
        row_number() over (partition by member_id order by mtime desc, rsvp_id desc) as recency
    from rsvps

),

final as (

    select member_id, member_name from ranked where recency = 1

)

select * from final
