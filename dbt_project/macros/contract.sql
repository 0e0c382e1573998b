{#- The source contracts (lakehouse/contracts/<source>.yml) reach dbt as the `contracts` var,
    passed by lakehouse.dbt.run_dbt. These macros are the only readers of it, so models never
    restate a field name, unit, range or fan-out target. -#}

{% macro contract(source) -%}
    {%- set contracts = var('contracts', none) -%}
    {%- if contracts is not none and source not in contracts and not execute -%}
        {#- Parsing a model of a source whose contract is not passed: the model is disabled
            (contracts_enabled), and dbt still renders it once to read its config. -#}
        {{ return({}) }}
    {%- endif -%}
    {%- if contracts is none or source not in contracts -%}
        {{ exceptions.raise_compiler_error(
            "the '" ~ source ~ "' contract was not passed as the `contracts` var; run dbt "
            ~ "through `lakehouse transform` or lakehouse.dbt.run_dbt") }}
    {%- endif -%}
    {{ return(contracts[source]) }}
{%- endmacro %}


{#- True when any of the named contracts is passed in the `contracts` var. A source's models
    are enabled only with its contract, so a project runs with any set of contracts (a folder
    of them in LAKEHOUSE_CONTRACTS_DIR) and a source not registered yet breaks no build. -#}
{% macro contracts_enabled(names) -%}
    {%- set contracts = var('contracts', {}) or {} -%}
    {%- for name in names -%}
        {%- if name in contracts -%}{{ return(true) }}{%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}


{% macro contract_entity(source, entity) -%}
    {#- get(): a disabled source's contract is {} while dbt parses (see contract()). -#}
    {{ return((contract(source).get('entities') or {}).get(entity) or {}) }}
{%- endmacro %}


{#- The silver name of a field: its `column`, else its bronze name. -#}
{% macro contract_silver_column(field) -%}
    {{ return(field['column'] or field['name']) }}
{%- endmacro %}


{#- SQL type of a field on the current adapter (decimal keeps its precision and scale). -#}
{% macro contract_field_type(field) -%}
    {%- if field['type'] == 'decimal' -%}
        {{ return('decimal(' ~ field['precision'] ~ ', ' ~ field['scale'] ~ ')') }}
    {%- endif -%}
    {{ return(contract_type(field['type'])) }}
{%- endmacro %}


{#- One `cast(<bronze name> as <type>) as <silver column>` per contract field, in contract
    order; `roles` (key, attribute, measure) keeps only fields of those roles. -#}
{% macro contract_field_columns(source, entity, roles=none) -%}
    {%- set fields = [] -%}
    {%- for field in contract_entity(source, entity).get('fields', []) -%}
        {%- if roles is none or field['role'] in roles -%}
            {%- do fields.append(field) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for field in fields %}
        cast({{ adapter.quote(field['name']) }} as {{ contract_field_type(field) }})
            as {{ contract_silver_column(field) }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{#- Silver columns of the entity's fields of role `measure` (what facts carry and marts
    aggregate), in contract order. -#}
{% macro contract_measures(source, entity) -%}
    {%- set columns = [] -%}
    {%- for field in contract_entity(source, entity).get('fields', []) if field['role'] == 'measure' -%}
        {%- do columns.append(contract_silver_column(field)) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}


{#- SQL literal of one target attribute, typed by its YAML value. -#}
{% macro _contract_literal(value) -%}
    {%- if value is none -%}
        cast(null as {{ dbt.type_string() }})
    {%- elif value is sameas true or value is sameas false -%}
        cast({{ 'true' if value else 'false' }} as boolean)
    {%- elif value is integer -%}
        cast({{ value }} as integer)
    {%- elif value is float -%}
        cast({{ value }} as {{ contract_type('double') }})
    {%- else -%}
        cast('{{ value | string | replace("'", "''") }}' as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}


{#- The source's fan-out targets (`source.targets.items`, weather's cities) as a relation: one
    select per item, unioned, one column per attribute (`id`, `name`, ...); an attribute an
    item lacks is null. -#}
{% macro contract_targets(source) -%}
    {%- set targets = ((contract(source).get('source') or {}).get('targets') or {}).get('items') or [] -%}
    {%- if not targets and execute -%}
        {{ exceptions.raise_compiler_error("the '" ~ source ~ "' contract declares no targets") }}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- for item in targets -%}
        {%- for key in item if key not in columns -%}
            {%- do columns.append(key) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for item in targets %}
    select
        {%- for key in columns %}
        {{ _contract_literal(item.get(key)) }} as {{ adapter.quote(key) }}{{ "," if not loop.last }}
        {%- endfor %}
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
        'bigint': 'bigint',
        'decimal': 'decimal(18, 2)',
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
