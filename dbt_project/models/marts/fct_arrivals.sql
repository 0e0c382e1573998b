{#- Gold: one row per I94 admission record, keyed to the immigration dimensions. Codes no label
    names stay (their dimension row is 'UNKNOWN', is_known false) and invalid ones are flagged,
    so counts never lose an arrival. -#}
{{ config(enabled=contracts_enabled(['immigration'])) }}

with

arrivals as (

    select * from {{ ref('stg_immigration__arrivals') }}

),

countries as (

    select * from {{ ref('dim_country') }}

),

final as (

    select
        ---------- ids
        arrivals.file_year,
        arrivals.file_month,
        arrivals.record_id,
        arrivals.admission_number,

        ---------- dimensions
        arrivals.arrival_date,
        arrivals.departure_date,
        cast(extract(year from arrivals.arrival_date) as integer) as arrival_year,
        cast(extract(month from arrivals.arrival_date) as integer) as arrival_month,
        arrivals.port_code,
        arrivals.citizenship_country_code,
        arrivals.residence_country_code,
        arrivals.visa_category_code,
        arrivals.travel_mode_code,
        arrivals.us_state_code,
        arrivals.visa_type,
        arrivals.airline_code,
        arrivals.flight_number,
        arrivals.gender,
        arrivals.file_added_date,
        arrivals.admitted_until_date,

        ---------- measures
        arrivals.age_years,
        {{ dbt.datediff('arrivals.arrival_date', 'arrivals.departure_date', 'day') }}
            as stay_days,

        ---------- flags
        arrivals.is_age_impossible,
        coalesce(citizenship.is_known, false) as is_citizenship_country_known,
        coalesce(citizenship.is_invalid, false) as is_citizenship_country_invalid
    from arrivals
    left join countries as citizenship
        on arrivals.citizenship_country_code = citizenship.country_code

)

select * from final
