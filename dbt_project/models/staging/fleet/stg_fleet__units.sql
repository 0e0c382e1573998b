{#- Silver unit versions: bronze renamed and cast to the contract's silver names. Every
    version the polls (or change data capture) saw stays a row; dim_transport_unit turns them
    into validity ranges. -#}
{{ config(enabled=contracts_enabled(['fleet'])) }}

with

source as (

    select * from {{ source('fleet', 'fleet__units') }}

),

renamed as (

    select
        ---------- ids
        {{ contract_field_columns('fleet', 'units', roles=['key']) }},

        ---------- described attributes, and the delete marker's flag
        {{ contract_field_columns('fleet', 'units', roles=['attribute']) }},

        ---------- timestamps
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,

        ---------- metadata
        cast(_batch_id as {{ dbt.type_string() }}) as _batch_id,
        cast(_fetched_at as {{ dbt.type_timestamp() }}) as _fetched_at,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as _ingested_at

    from source

)

select * from renamed
