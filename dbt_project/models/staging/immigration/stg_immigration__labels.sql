{#- Silver code labels: one row per entry of a PROC FORMAT value list of the I94 labels file
    (format_name without `$`, lowercase; code and label without quotes and padding). -#}
{{ config(enabled=contracts_enabled(['immigration'])) }}

with

source as (

    select * from {{ source('immigration', 'immigration__labels') }}

),

renamed as (

    select
        {{ contract_field_columns('immigration', 'labels') }},
        cast(_fetched_at as {{ dbt.type_timestamp() }}) as _fetched_at
    from source

)

select * from renamed
