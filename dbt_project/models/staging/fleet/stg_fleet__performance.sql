{#- Silver daily statistics: bronze renamed and cast (the latest correction of a day already
    won in bronze). -#}
{{ config(enabled=contracts_enabled(['fleet'])) }}

with

source as (

    select * from {{ source('fleet', 'fleet__performance') }}

),

renamed as (

    select
        ---------- ids
        {{ contract_field_columns('fleet', 'performance', roles=['key']) }},

        ---------- measures
        {{ contract_field_columns('fleet', 'performance', roles=['measure']) }},

        ---------- timestamps
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,

        ---------- metadata
        cast(_batch_id as {{ dbt.type_string() }}) as _batch_id,
        cast(_fetched_at as {{ dbt.type_timestamp() }}) as _fetched_at,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as _ingested_at

    from source

)

select * from renamed
