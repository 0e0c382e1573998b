{#- Silver: bronze renamed and cast to the contract's silver column names (units in names).
    Only renames and casts; the field list comes from the contract (macros/contract.sql).
    Incremental like the fact, for the same reason: each run reads only the rows bronze
    (re)wrote since the last build, so new data costs its own size rather than all of bronze,
    and a corrected hour replaces its row by the natural key. -#}
{{
    config(
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
        ---------- ids
        cast(city_id as {{ dbt.type_string() }}) as location_id,

        ---------- numerics
        {{ contract_field_columns('weather', 'hourly') }},
        cast(latitude as {{ contract_type('double') }}) as latitude,
        cast(longitude as {{ contract_type('double') }}) as longitude,
        cast(elevation as {{ contract_type('double') }}) as elevation_m,
        cast(utc_offset_seconds as integer) as utc_offset_seconds,

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
