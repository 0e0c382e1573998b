{#- Layers are schemas named for the layer (silver, gold) on every target, not
    <target_schema>_<layer>, so analysts and the publish step find them by name. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
