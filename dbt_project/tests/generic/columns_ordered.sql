{#- Rows where `columns` are not in ascending order (each at most the next; nulls are left to
    not_null tests): min <= avg <= max, first <= wettest <= last. -#}
{% test columns_ordered(model, columns) %}

select *
from {{ model }}
where
{%- for i in range(columns | length - 1) %}
    {{ "or " if not loop.first }}{{ columns[i] }} > {{ columns[i + 1] }}
{%- endfor %}
{%- if columns | length < 2 %} 1 = 0{% endif %}

{% endtest %}
