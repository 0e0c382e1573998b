{#- UTC time (timestamp without zone) of a wall-clock timestamp in an IANA zone: the inverse of
    to_local_timestamp. Amadeus gives segment times in the airport's own wall-clock time with no
    offset; the airport's zone (dim_airport) makes them UTC. `tz` may be a column. -#}
{% macro from_local_timestamp(local_ts, tz) -%}
    {{ return(adapter.dispatch('from_local_timestamp', 'lakehouse')(local_ts, tz)) }}
{%- endmacro %}

{#- PostgreSQL and standard SQL: `ts at time zone tz` reads ts as tz's wall clock. -#}
{% macro default__from_local_timestamp(local_ts, tz) -%}
    (({{ local_ts }}) at time zone ({{ tz }})) at time zone 'UTC'
{%- endmacro %}

{#- DuckDB (ICU): timezone(tz, ts) reads ts as tz's wall clock; timezone('UTC', tstz) gives UTC. -#}
{% macro duckdb__from_local_timestamp(local_ts, tz) -%}
    timezone('UTC', timezone({{ tz }}, {{ local_ts }}))
{%- endmacro %}

{#- Athena (Trino): with_timezone attaches the zone, at_timezone moves to UTC. -#}
{% macro athena__from_local_timestamp(local_ts, tz) -%}
    cast(at_timezone(with_timezone({{ local_ts }}, {{ tz }}), 'UTC') as timestamp)
{%- endmacro %}

{% macro trino__from_local_timestamp(local_ts, tz) -%}
    {{ athena__from_local_timestamp(local_ts, tz) }}
{%- endmacro %}

{% macro redshift__from_local_timestamp(local_ts, tz) -%}
    convert_timezone({{ tz }}, 'UTC', {{ local_ts }})
{%- endmacro %}
