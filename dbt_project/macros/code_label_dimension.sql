{#- A dimension of one code list: the rows of `codes` (format_name, code, label, is_known,
    is_invalid) for one format, the code cast to `code_type` and both renamed. Sources with SAS
    value labels, lookup tables or enumerations give each list its own dimension this way. -#}
{% macro code_label_dimension(codes, format_name, code_column, label_column, code_type=none) %}

with

codes as (

    select * from {{ codes }}
    where format_name = '{{ format_name }}'

),

final as (

    select
        cast(code as {{ code_type or dbt.type_int() }}) as {{ code_column }},
        cast(label as {{ dbt.type_string() }}) as {{ label_column }},
        is_known,
        is_invalid
    from codes

)

select * from final

{% endmacro %}
