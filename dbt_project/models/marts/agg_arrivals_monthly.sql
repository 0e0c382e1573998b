{#- Gold: arrivals per month of the arrival date, port of entry and visa category. -#}
{{ config(enabled=contracts_enabled(['immigration'])) }}

with

arrivals as (

    select * from {{ ref('fct_arrivals') }}

),

ports as (

    select * from {{ ref('dim_port') }}

),

visas as (

    select * from {{ ref('dim_visa') }}

),

counted as (

    select
        arrivals.arrival_year,
        arrivals.arrival_month,
        arrivals.port_code,
        ports.port_name,
        visas.visa_category,
        count(*) as arrivals
    from arrivals
    inner join ports
        on arrivals.port_code = ports.port_code
    inner join visas
        on arrivals.visa_category_code = visas.visa_category_code
    group by
        arrivals.arrival_year,
        arrivals.arrival_month,
        arrivals.port_code,
        ports.port_name,
        visas.visa_category

)

select * from counted
