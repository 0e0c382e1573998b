{#- Series with a cadence (`entities.<e>.cadence` of a contract) whose staging model
    stg_<source>__<entity> exists: what agg_series_completeness measures. lakehouse.dbt.run_dbt
    passes the staging models it finds as the `staging_models` var, so a contract with a cadence
    but no staging model yet is simply left out. Each item: source, entity, model, series (the
    silver columns of cadence.per), time (the event time column), every (minute|hour|day|month).
-#}
{% macro contract_series() -%}
    {%- set staged = var('staging_models', []) -%}
    {%- set series = [] -%}
    {%- for source, contract in (var('contracts', {}) or {}).items() | sort -%}
        {%- for name, entity in (contract.get('entities') or {}).items() | sort -%}
            {%- set model = 'stg_' ~ source ~ '__' ~ name -%}
            {%- if entity.get('cadence') and model in staged -%}
                {%- set columns = [] -%}
                {%- for per in entity['cadence']['per'] -%}
                    {%- set ns = namespace(column=per) -%}
                    {%- for field in entity['fields'] if field['name'] == per -%}
                        {%- set ns.column = contract_silver_column(field) -%}
                    {%- endfor -%}
                    {%- do columns.append(ns.column) -%}
                {%- endfor -%}
                {%- do series.append({
                    'source': source,
                    'entity': name,
                    'model': model,
                    'series': columns,
                    'time': entity['event_time']['column'],
                    'every': entity['cadence']['every'],
                }) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(series) }}
{%- endmacro %}
