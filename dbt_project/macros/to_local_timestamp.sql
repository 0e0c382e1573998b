{#- Wall-clock time in an IANA zone of a UTC timestamp (stored without zone), as a timestamp
    without zone. Each engine spells time-zone conversion differently, hence the dispatch;
    `tz` may be a column, so the zone is never a literal here. -#}
{% macro to_local_timestamp(utc_ts, tz) -%}
    {{ return(adapter.dispatch('to_local_timestamp', 'lakehouse')(utc_ts, tz)) }}
{%- endmacro %}

{#- PostgreSQL and standard SQL. -#}
{% macro default__to_local_timestamp(utc_ts, tz) -%}
    (({{ utc_ts }}) at time zone 'UTC') at time zone ({{ tz }})
{%- endmacro %}

{#- DuckDB (ICU): timezone('UTC', ts) reads ts as UTC; timezone(tz, tstz) gives local time. -#}
{% macro duckdb__to_local_timestamp(utc_ts, tz) -%}
    timezone({{ tz }}, timezone('UTC', {{ utc_ts }}))
{%- endmacro %}

{#- Athena (Trino). -#}
{% macro athena__to_local_timestamp(utc_ts, tz) -%}
    cast(at_timezone(with_timezone({{ utc_ts }}, 'UTC'), {{ tz }}) as timestamp)
{%- endmacro %}

{% macro trino__to_local_timestamp(utc_ts, tz) -%}
    {{ athena__to_local_timestamp(utc_ts, tz) }}
{%- endmacro %}

{% macro redshift__to_local_timestamp(utc_ts, tz) -%}
    convert_timezone('UTC', {{ tz }}, {{ utc_ts }})
{%- endmacro %}
