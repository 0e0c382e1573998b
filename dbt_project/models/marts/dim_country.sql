{#- Gold: Citizenship and residence countries of the I94 codes (i94cntyl). One row per code, labelled or only seen in arrivals: a code no label
    names is kept as 'UNKNOWN' with is_known false; labels the original marks as not to be
    processed are flagged is_invalid. -#}
{{ config(enabled=contracts_enabled(['immigration'])) }}

with

codes as (

    select * from {{ ref('int_immigration__code_labels') }}
    where format_name = 'i94cntyl'

),

final as (

    select
        cast(code as integer) as country_code,
        cast(label as {{ dbt.type_string() }}) as country_name,
        is_known,
        is_invalid
    from codes

)

select * from final
