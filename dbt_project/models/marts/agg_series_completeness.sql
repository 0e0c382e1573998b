{#- Gold: how complete each series of every source is, against its contract's cadence (weather:
    one row per city and hour). Grain: one row per source, entity and series (the cadence's
    `per` columns, e.g. one city). A gap is a fact reported here, in `lakehouse status` and on
    the site, never a reason to stop publishing what is there. Built over the staging models of
    every contract entity with a cadence (macros/series.sql), so a new source needs no edit. -#}
{%- set all_series = contract_series() %}

with

{%- for s in all_series %}

events_{{ loop.index }} as (

    select distinct
        {%- if s['series'] %}
        {% for column in s['series'] -%}
        cast({{ column }} as {{ dbt.type_string() }}){{ " || '|' || " if not loop.last }}
        {%- endfor %} as series_key,
        {%- else %}
        cast('' as {{ dbt.type_string() }}) as series_key,
        {%- endif %}
        cast({{ dbt.date_trunc(s['every'], s['time']) }} as {{ dbt.type_timestamp() }}) as event_at
    from {{ ref(s['model']) }}
    where {{ s['time'] }} is not null

),

steps_{{ loop.index }} as (

    select
        series_key,
        event_at,
        lag(event_at) over (partition by series_key order by event_at) as previous_event_at
    from events_{{ loop.index }}

),

gaps_{{ loop.index }} as (

    select
        series_key,
        event_at,
        previous_event_at,
        {{ dbt.datediff('previous_event_at', 'event_at', s['every']) }} - 1 as missing_steps
    from steps_{{ loop.index }}

),

ranked_{{ loop.index }} as (

    select
        series_key,
        previous_event_at,
        event_at,
        missing_steps,
        row_number() over (
            partition by series_key
            order by missing_steps desc, event_at asc
        ) as gap_rank
    from gaps_{{ loop.index }}
    where missing_steps > 0

),

summary_{{ loop.index }} as (

    select
        cast('{{ s["source"] }}' as {{ dbt.type_string() }}) as source,
        cast('{{ s["entity"] }}' as {{ dbt.type_string() }}) as entity,
        cast('{{ s["series"] | join("|") }}' as {{ dbt.type_string() }}) as series_key_columns,
        gaps.series_key,
        cast('{{ s["every"] }}' as {{ dbt.type_string() }}) as cadence,
        min(gaps.event_at) as first_event_at,
        max(gaps.event_at) as last_event_at,
        count(*) as present_count,
        sum(case when gaps.missing_steps > 0 then 1 else 0 end) as gap_count,
        sum(case when gaps.missing_steps > 0 then gaps.missing_steps else 0 end) as missing_count
    from gaps_{{ loop.index }} as gaps
    group by gaps.series_key

),

series_{{ loop.index }} as (

    select
        summary.source,
        summary.entity,
        summary.series_key_columns,
        summary.series_key,
        summary.cadence,
        summary.first_event_at,
        summary.last_event_at,
        summary.present_count + summary.missing_count as expected_count,
        summary.present_count,
        summary.missing_count,
        summary.gap_count,
        {{ dbt.dateadd(s['every'], 1, 'largest.previous_event_at') }} as largest_gap_start_at,
        {{ dbt.dateadd(s['every'], -1, 'largest.event_at') }} as largest_gap_end_at,
        largest.missing_steps as largest_gap_missing_count
    from summary_{{ loop.index }} as summary
    left join ranked_{{ loop.index }} as largest
        on summary.series_key = largest.series_key and largest.gap_rank = 1

),
{%- endfor %}

final as (

    {%- for s in all_series %}
    select * from series_{{ loop.index }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
    {%- if not all_series %}
    select
        cast(null as {{ dbt.type_string() }}) as source,
        cast(null as {{ dbt.type_string() }}) as entity,
        cast(null as {{ dbt.type_string() }}) as series_key_columns,
        cast(null as {{ dbt.type_string() }}) as series_key,
        cast(null as {{ dbt.type_string() }}) as cadence,
        cast(null as {{ dbt.type_timestamp() }}) as first_event_at,
        cast(null as {{ dbt.type_timestamp() }}) as last_event_at,
        0 as expected_count,
        0 as present_count,
        0 as missing_count,
        0 as gap_count,
        cast(null as {{ dbt.type_timestamp() }}) as largest_gap_start_at,
        cast(null as {{ dbt.type_timestamp() }}) as largest_gap_end_at,
        0 as largest_gap_missing_count
    where 1 = 0
    {%- endif %}

)

select
    source,
    entity,
    series_key_columns,
    series_key,
    cadence,
    first_event_at,
    last_event_at,
    cast(expected_count as integer) as expected_count,
    cast(present_count as integer) as present_count,
    cast(missing_count as integer) as missing_count,
    cast(gap_count as integer) as gap_count,
    largest_gap_start_at,
    largest_gap_end_at,
    cast(largest_gap_missing_count as integer) as largest_gap_missing_count
from final
