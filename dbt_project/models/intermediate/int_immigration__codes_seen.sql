{#- Every code the arrivals use, per code list, with the format its label comes from: the
    dimensions keep a code no label names (flagged unknown), so no arrival loses its row. -#}
{{ config(enabled=contracts_enabled(['immigration'])) }}

with

arrivals as (

    select * from {{ ref('stg_immigration__arrivals') }}

),

codes as (

    select 'i94cntyl' as format_name,
        cast(citizenship_country_code as {{ dbt.type_string() }}) as code
    from arrivals
    union
    select 'i94cntyl', cast(residence_country_code as {{ dbt.type_string() }}) from arrivals
    union
    select 'i94prtl', port_code from arrivals
    union
    select 'i94model', cast(travel_mode_code as {{ dbt.type_string() }}) from arrivals
    union
    select 'i94addrl', us_state_code from arrivals
    union
    select 'i94visa', cast(visa_category_code as {{ dbt.type_string() }}) from arrivals

),

final as (

    select * from codes where code is not null

)

select * from final
