{#- Gold: RSVPs per group city, over the newest version of each RSVP. -#}
{{ config(enabled=contracts_enabled(['events'])) }}

with

rsvps as (

    select * from {{ ref('fct_rsvp') }}

),

final as (

    select
        group_country,
        group_city,
        cast(count(*) as bigint) as rsvp_count,
        cast(sum(is_yes) as bigint) as yes_count
    from rsvps
    group by group_country, group_city

)

select * from final
