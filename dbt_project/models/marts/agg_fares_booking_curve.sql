{#- Gold, "when to buy": per route, travel dates and UTC day of the search, that day's cheapest
    fare and how many days before departure it was; the cheapest fare seen up to that day and
    the day it was first seen; and, on every row of the travel dates, the latest search's
    cheapest fare. -#}
{{ config(enabled=contracts_enabled(['flights'])) }}

with

daily as (

    select * from {{ ref('agg_fares_cheapest_daily') }}

),

offers as (

    select * from {{ ref('fct_flight_offers') }}

),

latest_search as (

    select
        origin_iata,
        destination_iata,
        departure_date,
        return_date,
        observed_at,
        min(total_usd) as cheapest_total_usd,
        row_number() over (
            partition by origin_iata, destination_iata, departure_date, return_date
            order by observed_at desc
        ) as recency
    from offers
    group by origin_iata, destination_iata, departure_date, return_date, observed_at

),

running as (

    select
        daily.*,
        {{ dbt.datediff('daily.observed_date', 'daily.departure_date', 'day') }}
            as days_before_departure,
        min(daily.cheapest_total_usd) over (
            partition by daily.origin_iata, daily.destination_iata, daily.departure_date,
                daily.return_date
            order by daily.observed_date
            rows between unbounded preceding and current row
        ) as cheapest_so_far_usd,
        min(daily.cheapest_total_usd) over (
            partition by daily.origin_iata, daily.destination_iata, daily.departure_date,
                daily.return_date
            order by daily.observed_date
            rows between unbounded preceding and 1 preceding
        ) as cheapest_before_usd
    from daily

),

lows as (

    select
        running.*,
        -- the day of the running low: the last day that set a new low up to this row
        max(case
            when cheapest_before_usd is null or cheapest_total_usd < cheapest_before_usd
                then observed_date
        end) over (
            partition by origin_iata, destination_iata, departure_date, return_date
            order by observed_date
            rows between unbounded preceding and current row
        ) as cheapest_so_far_observed_date
    from running

),

final as (

    select
        lows.origin_iata,
        lows.destination_iata,
        lows.departure_date,
        lows.return_date,
        lows.observed_date,
        lows.days_before_departure,
        lows.cheapest_total_usd,
        lows.carrier_code,
        lows.offer_count,
        lows.cheapest_so_far_usd,
        lows.cheapest_so_far_observed_date,
        latest.observed_at as latest_observed_at,
        latest.cheapest_total_usd as latest_cheapest_total_usd,
        lows.is_international
    from lows
    left join latest_search as latest
        on lows.origin_iata = latest.origin_iata
        and lows.destination_iata = latest.destination_iata
        and lows.departure_date = latest.departure_date
        and lows.return_date = latest.return_date
        and latest.recency = 1

)

select * from final
