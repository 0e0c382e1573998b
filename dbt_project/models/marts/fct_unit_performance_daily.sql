{#- Gold fact: a unit's statistics for one day, joined to the version of the unit valid on that
    day: the version in force at the day's end (the statistics are the day's total). A day
    before the first version seen (the unit was described before the first poll) takes the
    first version. fuel_per_100km is null on a day without distance. -#}
{{ config(enabled=contracts_enabled(['fleet'])) }}

with

performance as (

    select * from {{ ref('stg_fleet__performance') }}

),

units as (

    select * from {{ ref('dim_transport_unit') }}

),

first_versions as (

    select unit_id, min(valid_from) as first_valid_from
    from units
    group by unit_id

),

day_ends as (

    select
        performance.*,
        cast({{ dbt.dateadd('day', 1, 'performance.stat_date') }} as {{ dbt.type_timestamp() }})
            as day_end_at
    from performance

),

with_version as (

    select
        day_ends.*,
        coalesce(valid.unit_sk, earliest.unit_sk) as unit_sk
    from day_ends
    left join units as valid
        on day_ends.unit_id = valid.unit_id
        and valid.valid_from < day_ends.day_end_at
        and (valid.valid_to is null or valid.valid_to >= day_ends.day_end_at)
    left join first_versions
        on day_ends.unit_id = first_versions.unit_id
    left join units as earliest
        on first_versions.unit_id = earliest.unit_id
        and first_versions.first_valid_from = earliest.valid_from
        and first_versions.first_valid_from >= day_ends.day_end_at

),

final as (

    select
        ---------- ids
        with_version.unit_id,
        with_version.stat_date,
        with_version.unit_sk,

        ---------- the unit as it was that day
        units.unit_type,
        units.unit_name,
        units.home_base,

        ---------- measures
        with_version.distance_km,
        with_version.fuel_used_l,
        with_version.hours_active,
        with_version.maintenance_events,
        case
            when with_version.distance_km > 0
                then 100.0 * with_version.fuel_used_l / with_version.distance_km
        end as fuel_per_100km,

        ---------- timestamps
        with_version.updated_at,

        ---------- metadata
        with_version._ingested_at

    from with_version
    left join units
        on with_version.unit_sk = units.unit_sk

)

select * from final
