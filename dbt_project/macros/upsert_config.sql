{#- How an incremental model replaces re-delivered rows by its unique_key, per engine, so models
    carry no target.type branches. DuckDB, PostgreSQL and Redshift: delete+insert. Athena has no
    delete+insert; on Hive tables it can only append (duplicates) or overwrite partitions, so it
    uses merge, which dbt-athena supports on Iceberg tables only (table_type='iceberg' in the
    model's config, a key the other adapters ignore). -#}
{% macro upsert_strategy() -%}
    {{ return(adapter.dispatch('upsert_strategy', 'lakehouse')()) }}
{%- endmacro %}

{% macro default__upsert_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro athena__upsert_strategy() -%}
    {{ return('merge') }}
{%- endmacro %}
