{#- A timestamp (UTC) from epoch milliseconds, the same on every engine: dbt's cross-database
    dateadd from 1970-01-01, whole seconds first and then the milliseconds, because DuckDB
    takes an interval's count as a 32-bit integer (milliseconds since 1970 overflow it). -#}
{% macro epoch_ms_to_timestamp(expr) -%}
    {%- set epoch = "cast('1970-01-01 00:00:00' as " ~ dbt.type_timestamp() ~ ")" -%}
    {%- set seconds = "cast(floor((" ~ expr ~ ") / 1000.0) as integer)" -%}
    {%- set millis = "cast(mod(" ~ expr ~ ", 1000) as integer)" -%}
    {{ dbt.dateadd('millisecond', millis, dbt.dateadd('second', seconds, epoch)) }}
{%- endmacro %}
