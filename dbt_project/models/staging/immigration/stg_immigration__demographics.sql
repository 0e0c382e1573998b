{#- Silver US city demographics as the file has them: one row per city, state and race, the
    city's totals repeated on each (dim_city_demographics pivots them). -#}
{{ config(enabled=contracts_enabled(['immigration'])) }}

with

source as (

    select * from {{ source('immigration', 'immigration__demographics') }}

),

renamed as (

    select
        {{ contract_field_columns('immigration', 'demographics') }},
        cast(_fetched_at as {{ dbt.type_timestamp() }}) as _fetched_at
    from source

)

select * from renamed
