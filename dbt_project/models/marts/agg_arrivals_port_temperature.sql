{#- Gold: arrivals per port and month against the average temperature of the port's city that
    month. The port's city is matched by name with the US cities of the temperature file; a
    port whose city has no temperature keeps a null temperature. -#}
{{ config(enabled=contracts_enabled(['immigration'])) }}

with

arrivals as (

    select * from {{ ref('fct_arrivals') }}

),

ports as (

    select * from {{ ref('dim_port') }}

),

temperatures as (

    select * from {{ ref('fct_city_temperatures_monthly') }}
    where country_name = 'United States'

),

monthly as (

    select
        arrival_year,
        arrival_month,
        port_code,
        count(*) as arrivals
    from arrivals
    group by arrival_year, arrival_month, port_code

),

final as (

    select
        monthly.arrival_year,
        monthly.arrival_month,
        monthly.port_code,
        ports.port_name,
        ports.city_name,
        ports.state_code,
        monthly.arrivals,
        temperatures.avg_temperature_c
    from monthly
    inner join ports
        on monthly.port_code = ports.port_code
    left join temperatures
        on upper(temperatures.city_name) = ports.city_name
        and temperatures.measured_year = monthly.arrival_year
        and temperatures.measured_month = monthly.arrival_month

)

select * from final
