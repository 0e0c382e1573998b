{#- Gold dashboard: count, mean and 90th percentile (continuous, percentile_cont(0.9)) of the
    daily statistics per unit type and day, the type being the one valid that day. -#}
{{ config(enabled=contracts_enabled(['fleet'])) }}

with

daily as (

    select * from {{ ref('fct_unit_performance_daily') }}
    where unit_type is not null

),

aggregated as (

    select
        unit_type,
        stat_date,
        cast(count(distinct unit_id) as integer) as unit_count,
        avg(fuel_per_100km) as fuel_per_100km_mean,
        {{ percentile_cont('fuel_per_100km', 0.9) }} as fuel_per_100km_p90,
        avg(distance_km) as distance_km_mean,
        {{ percentile_cont('distance_km', 0.9) }} as distance_km_p90,
        avg(hours_active) as hours_active_mean,
        {{ percentile_cont('hours_active', 0.9) }} as hours_active_p90
    from daily
    group by unit_type, stat_date

)

select * from aggregated
