{#- Gold fact: one row per location and observed hour (UTC). Incremental: each run merges only
    the rows bronze (re)wrote since the last build, keyed on the contract's natural key, so a
    late or corrected hour replaces its old row instead of duplicating it. The strategy is the
    engine's way to do that (macros/upsert_config.sql); table_type only matters on Athena. -#}
{{
    config(
        enabled=contracts_enabled(['weather']),
        materialized='incremental',
        unique_key=['location_id', 'observed_at'],
        incremental_strategy=upsert_strategy(),
        table_type='iceberg',
        on_schema_change='append_new_columns',
    )
}}

with

hourly as (

    select * from {{ ref('int_weather__hourly_localized') }}

    {% if is_incremental() %}
    where _ingested_at > (select max(_ingested_at) from {{ this }})
    {% endif %}

),

final as (

    select
        ---------- ids
        location_id,
        local_date,

        ---------- measures (the contract's fields of role measure, silver names)
        {%- for column in contract_measures('weather', 'hourly') %}
        {{ column }},
        {%- endfor %}

        ---------- timestamps
        observed_at,
        local_observed_at,

        ---------- metadata
        _batch_id,
        _fetched_at,
        _ingested_at

    from hourly

)

select * from final
