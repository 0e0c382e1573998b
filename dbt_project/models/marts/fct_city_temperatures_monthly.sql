{#- Gold: monthly average land temperature per city (Berkeley Earth). City names repeat across
    countries, so a city is its name and country; months without a value are left out. -#}
{{ config(enabled=contracts_enabled(['immigration'])) }}

with

temperatures as (

    select * from {{ ref('stg_immigration__temperatures') }}

),

final as (

    select
        city_name,
        country_name,
        month_start_date,
        cast(extract(year from month_start_date) as integer) as measured_year,
        cast(extract(month from month_start_date) as integer) as measured_month,
        latitude,
        longitude,
        avg_temperature_c,
        avg_temperature_uncertainty_c
    from temperatures
    where avg_temperature_c is not null

)

select * from final
