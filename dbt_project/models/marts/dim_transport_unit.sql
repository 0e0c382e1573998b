{#- Gold SCD2 dimension: one row per version of a transport unit's description, valid from the
    time the source wrote it (valid_from, inclusive) until the next version or the unit's
    deletion (valid_to, exclusive; null while current).

    Incremental, and correct on re-runs: each run takes the units with anything new in silver
    since the last build (a version or a delete marker, by _ingested_at) and recomputes all of
    those units' versions from silver's complete history (bronze keeps every version), merged
    on unit_sk. A re-run with nothing new changes nothing; a version arriving late (an older
    updated_at) is slotted in and its neighbours' ranges corrected; only a unit's last version
    can be current, so there are never two current rows for a unit; a delete marker closes the
    version before it. -#}
{{
    config(
        enabled=contracts_enabled(['fleet']),
        materialized='incremental',
        unique_key='unit_sk',
        incremental_strategy=upsert_strategy(),
        table_type='iceberg',
        on_schema_change='append_new_columns',
    )
}}

with

units as (

    select * from {{ ref('stg_fleet__units') }}

),

changed_units as (

    select distinct unit_id
    from units
    {% if is_incremental() %}
    where _ingested_at > (select max(_ingested_at) from {{ this }})
    {% endif %}

),

history as (

    select
        units.*,
        coalesce(units.is_deleted, false) as is_delete_marker,
        max(units._ingested_at) over (partition by units.unit_id) as unit_ingested_at
    from units
    inner join changed_units
        on units.unit_id = changed_units.unit_id

),

ranged as (

    select
        history.*,
        lead(history.updated_at) over (
            partition by history.unit_id order by history.updated_at
        ) as next_change_at
    from history

),

final as (

    select
        ---------- ids
        {{ dbt.hash(dbt.concat([
            'unit_id', "'|'", 'cast(updated_at as ' ~ dbt.type_string() ~ ')'
        ])) }} as unit_sk,
        unit_id,

        ---------- described attributes
        unit_name,
        unit_type,
        model,
        capacity,
        home_base,
        status,

        ---------- validity
        updated_at as valid_from,
        next_change_at as valid_to,
        case when next_change_at is null then true else false end as is_current,

        ---------- metadata
        unit_ingested_at as _ingested_at

    from ranged
    where not is_delete_marker

)

select * from final
