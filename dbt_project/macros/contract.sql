{#- The source contracts (lakehouse/contracts/<source>.yml) reach dbt as the `contracts` var,
    passed by lakehouse.dbt.run_dbt. These macros are the only readers of it, so models never
    restate a field name, unit, range or city. -#}

{% macro contract(source) -%}
    {%- set contracts = var('contracts', none) -%}
    {%- if contracts is none or source not in contracts -%}
        {{ exceptions.raise_compiler_error(
            "the '" ~ source ~ "' contract was not passed as the `contracts` var; run dbt "
            ~ "through `lakehouse transform` or lakehouse.dbt.run_dbt") }}
    {%- endif -%}
    {{ return(contracts[source]) }}
{%- endmacro %}


{% macro contract_entity(source, entity) -%}
    {{ return(contract(source)['entities'][entity]) }}
{%- endmacro %}


{#- One `cast(<api name> as <type>) as <silver column>` per contract field. -#}
{% macro contract_field_columns(source, entity) -%}
    {%- for field in contract_entity(source, entity)['fields'] %}
        cast({{ adapter.quote(field['name']) }} as {{ contract_type(field['type']) }})
            as {{ field['column'] }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{#- The contract's cities as a relation: one select per city, unioned. -#}
{% macro contract_cities(source) -%}
    {%- for city in contract(source)['cities'] %}
    select
        cast('{{ city["id"] }}' as {{ dbt.type_string() }}) as city_id,
        cast('{{ city["name"] | replace("'", "''") }}' as {{ dbt.type_string() }}) as city_name,
        cast({{ city["latitude"] }} as {{ contract_type('double') }}) as latitude,
        cast({{ city["longitude"] }} as {{ contract_type('double') }}) as longitude,
        cast('{{ city["timezone"] }}' as {{ dbt.type_string() }}) as timezone
    {{ "union all" if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{#- SQL type of a contract type on the current adapter. -#}
{% macro contract_type(contract_type_name) -%}
    {{ return(adapter.dispatch('contract_type', 'lakehouse')(contract_type_name)) }}
{%- endmacro %}

{% macro default__contract_type(name) -%}
    {%- set types = {
        'double': 'double precision',
        'integer': 'integer',
        'string': dbt.type_string(),
        'boolean': 'boolean',
        'timestamp': dbt.type_timestamp(),
        'date': 'date',
    } -%}
    {{ return(types[name]) }}
{%- endmacro %}

{% macro duckdb__contract_type(name) -%}
    {{ return({'double': 'double'}.get(name) or default__contract_type(name)) }}
{%- endmacro %}

{% macro athena__contract_type(name) -%}
    {{ return({'double': 'double', 'string': 'varchar'}.get(name) or default__contract_type(name)) }}
{%- endmacro %}
