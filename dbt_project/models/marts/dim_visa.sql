{#- Gold: Visa categories (i94visa: 1 Business, 2 Pleasure, 3 Student). One row per code, labelled or only seen in arrivals: a code no label
    names is kept as 'UNKNOWN' with is_known false; labels the original marks as not to be
    processed are flagged is_invalid. -#}
{{ config(enabled=contracts_enabled(['immigration'])) }}

with

codes as (

    select * from {{ ref('int_immigration__code_labels') }}
    where format_name = 'i94visa'

),

final as (

    select
        cast(code as integer) as visa_category_code,
        cast(label as {{ dbt.type_string() }}) as visa_category,
        is_known,
        is_invalid
    from codes

)

select * from final
