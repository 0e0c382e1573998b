{#- Rows where any contract field (under its silver column name, or `prefix` + name) lies
    outside the contract's physical range. Generated from the contract, so a new field or a
    changed range needs no edit here. -#}
{% test within_contract_ranges(model, source, entity, column_prefix='') %}

{%- set ranged = [] -%}
{%- for field in contract_entity(source, entity)['fields'] if field['range'] -%}
    {%- do ranged.append(field) -%}
{%- endfor %}

select *
from {{ model }}
where
{%- for field in ranged %}
    {{ "or " if not loop.first }}{{ column_prefix ~ field['column'] }}
        not between {{ field['range'][0] }} and {{ field['range'][1] }}
{%- endfor %}
{%- if not ranged %} 1 = 0{% endif %}

{% endtest %}
