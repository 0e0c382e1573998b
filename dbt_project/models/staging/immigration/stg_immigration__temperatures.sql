{#- Silver monthly city temperatures (Berkeley Earth): coordinates already signed degrees in
    bronze; months without a value (the early years) are kept with a null temperature. -#}
{{ config(enabled=contracts_enabled(['immigration'])) }}

with

source as (

    select * from {{ source('immigration', 'immigration__temperatures') }}

),

renamed as (

    select
        {{ contract_field_columns('immigration', 'temperatures') }},
        cast(measured_at as {{ dbt.type_timestamp() }}) as measured_at,
        cast(measured_date as date) as month_start_date,
        cast(_fetched_at as {{ dbt.type_timestamp() }}) as _fetched_at
    from source

)

select * from renamed
