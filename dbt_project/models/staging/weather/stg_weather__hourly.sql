{#- Silver: bronze renamed and cast to the contract's silver column names (units in names).
    Only renames and casts; every field, its type and its silver name come from the contract
    (macros/contract.sql).
    Incremental like the fact, for the same reason: each run reads only the rows bronze
    (re)wrote since the last build, so new data costs its own size rather than all of bronze,
    and a corrected hour replaces its row by the natural key. -#}
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

source as (

    select * from {{ source('weather', 'weather__hourly') }}

    {% if is_incremental() %}
    where _ingested_at > (select max(_ingested_at) from {{ this }})
    {% endif %}

),

renamed as (

    select
        ---------- ids (the contract's key fields: city_id as location_id)
        {{ contract_field_columns('weather', 'hourly', roles=['key']) }},

        ---------- measures
        {{ contract_field_columns('weather', 'hourly', roles=['measure']) }},

        ---------- location context (the grid cell the API answered for)
        {{ contract_field_columns('weather', 'hourly', roles=['attribute']) }},

        ---------- timestamps
        cast(observed_at as {{ dbt.type_timestamp() }}) as observed_at,
        cast(observed_date as date) as observed_date,

        ---------- metadata
        cast(_batch_id as {{ dbt.type_string() }}) as _batch_id,
        cast(_fetched_at as {{ dbt.type_timestamp() }}) as _fetched_at,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as _ingested_at

    from source

)

select * from renamed
