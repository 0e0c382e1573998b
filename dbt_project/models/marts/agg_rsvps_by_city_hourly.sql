{#- Gold: RSVPs per group city and UTC hour of their newest version, over time. -#}
{{ config(enabled=contracts_enabled(['events'])) }}

with

rsvps as (

    select * from {{ ref('fct_rsvp') }}

),

final as (

    select
        group_country,
        group_city,
        {{ dbt.date_trunc('hour', 'rsvp_updated_at') }} as hour_at,
        cast(count(*) as bigint) as rsvp_count,
        cast(sum(is_yes) as bigint) as yes_count
    from rsvps
    group by group_country, group_city, {{ dbt.date_trunc('hour', 'rsvp_updated_at') }}

)

select * from final
