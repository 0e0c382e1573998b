{#- Gold: US city demographics pivoted to one row per city: the file repeats the city's totals
    on each of its race rows, so totals are taken once (max) and the race counts become
    columns, never summed across rows. -#}
{{ config(enabled=contracts_enabled(['immigration'])) }}

with

demographics as (

    select * from {{ ref('stg_immigration__demographics') }}

),

pivoted as (

    select
        city_name,
        state_code,
        max(state_name) as state_name,
        max(median_age_years) as median_age_years,
        max(male_population) as male_population,
        max(female_population) as female_population,
        max(total_population) as total_population,
        max(veterans) as veterans,
        max(foreign_born) as foreign_born,
        max(avg_household_size) as avg_household_size,
        sum(case when race = 'White' then race_count end) as white_population,
        sum(case when race = 'Hispanic or Latino' then race_count end) as hispanic_or_latino_population,
        sum(case when race = 'Black or African-American' then race_count end)
            as black_or_african_american_population,
        sum(case when race = 'Asian' then race_count end) as asian_population,
        sum(case when race = 'American Indian and Alaska Native' then race_count end)
            as american_indian_and_alaska_native_population
    from demographics
    group by city_name, state_code

),

final as (

    select
        upper(city_name) || ', ' || state_code as city_key,
        *
    from pivoted

)

select * from final
