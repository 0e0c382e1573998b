{#- Gold: Modes of arrival (i94model: 1 Air, 2 Sea, 3 Land, 9 Not reported). One row per code, labelled or only seen in arrivals: a code no label
    names is kept as 'UNKNOWN' with is_known false; labels the original marks as not to be
    processed are flagged is_invalid. -#}
{{ config(enabled=contracts_enabled(['immigration'])) }}

with

codes as (

    select * from {{ ref('int_immigration__code_labels') }}
    where format_name = 'i94model'

),

final as (

    select
        cast(code as integer) as travel_mode_code,
        cast(label as {{ dbt.type_string() }}) as travel_mode,
        is_known,
        is_invalid
    from codes

)

select * from final
