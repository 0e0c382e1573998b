{#- Silver I94 arrivals: one row per admission record, the contract's columns under their
    silver names (float codes already integers, SAS and text dates already dates in bronze).
    An impossible reported age (below 0 or above 120) is kept as reported and flagged; age_years
    is null for it. -#}
{{ config(enabled=contracts_enabled(['immigration'])) }}

with

source as (

    select * from {{ source('immigration', 'immigration__arrivals') }}

),

renamed as (

    select
        {{ contract_field_columns('immigration', 'arrivals') }},
        cast(arrived_at as {{ dbt.type_timestamp() }}) as arrived_at,
        cast(_fetched_at as {{ dbt.type_timestamp() }}) as _fetched_at,
        cast(_landing_path as {{ dbt.type_string() }}) as _landing_path
    from source

),

compute_flags as (

    select
        *,
        case
            when age_years_reported between 0 and 120 then age_years_reported
        end as age_years,
        coalesce(age_years_reported < 0 or age_years_reported > 120, false)
            as is_age_impossible
    from renamed

)

select * from compute_flags
